/** The service's named errors: HTTP errors with a stable code, a message and a status; and configuration errors. */
import createError from '@fastify/error'

export const UnauthorizedError = createError('BRIDGE_ERR_UNAUTHORIZED', 'Missing or invalid credentials', 401)
/** Too many wrong credentials from one address within a minute: it waits for Retry-After. */
export const TooManyFailedLoginsError = createError('BRIDGE_ERR_TOO_MANY_FAILED_LOGINS', 'Too many failed logins from this address; retry later', 429)
export const ForbiddenAddressError = createError('BRIDGE_ERR_FORBIDDEN_ADDRESS', 'Caller address is not allowed', 403)
export const NotFoundError = createError<[string]>('BRIDGE_ERR_NOT_FOUND', '%s', 404)
/** A webhook delivery could not be committed; Gupy will retry it. */
export const StoreUnavailableError = createError<[string]>('BRIDGE_ERR_STORE_UNAVAILABLE', 'Delivery not stored: %s; retry later', 503)
/** A read or write the request needed failed in the storage (locked, full, I/O): the caller should retry. */
export const DatabaseUnavailableError = createError<[string]>('BRIDGE_ERR_DATABASE_UNAVAILABLE', 'Database unavailable (%s); retry later', 503)
/** Any route while the service stops: the caller should come back (to this or the next instance). */
export const ShuttingDownError = createError('BRIDGE_ERR_SHUTTING_DOWN', 'Shutting down; retry later', 503)

/** Invalid configuration (environment or mapping file): stops start-up with its message. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}
