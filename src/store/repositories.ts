/** Every repository over one open database: what the service and the operator commands work with. */
import { createAlertState } from './alerts.js'
import { createContacts } from './contacts.js'
import { createFeeds } from './feeds.js'
import { createGupyState } from './gupy-state.js'
import { createInbox } from './inbox.js'
import { createPush } from './push.js'
import { createRetention } from './retention.js'
import type { Database } from './sqlite.js'

export function createRepositories (db: Database) {
  return { db, inbox: createInbox(db), contacts: createContacts(db), feeds: createFeeds(db), gupy: createGupyState(db), retention: createRetention(db), alerts: createAlertState(db), push: createPush(db) }
}

export type Repositories = ReturnType<typeof createRepositories>
