/** Rubeus's side of the contract: the contacts feed's name and the most records one call may carry. */

/** `GET /rubeus/contatos`: the feed of contacts; every other feed is an event feed. */
export const CONTACTS_FEED = 'contatos'

/** Rubeus reads at most this many records per call. */
export const MAX_BATCH_SIZE = 1000
