/** The service's named errors: a stable code, a message and the HTTP status they answer with. */
import createError from '@fastify/error'

export const UnauthorizedError = createError('BRIDGE_ERR_UNAUTHORIZED', 'Missing or invalid credentials', 401)
export const ForbiddenAddressError = createError('BRIDGE_ERR_FORBIDDEN_ADDRESS', 'Caller address is not allowed', 403)
export const NotFoundError = createError<[string]>('BRIDGE_ERR_NOT_FOUND', '%s', 404)
/** The delivery could not be committed; Gupy will retry it. */
export const StoreUnavailableError = createError<[string]>('BRIDGE_ERR_STORE_UNAVAILABLE', 'Delivery not stored: %s; retry later', 503)
