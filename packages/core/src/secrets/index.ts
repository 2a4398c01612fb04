/**
 * Secrets: references in the GDM (`Secrets: { DB_PASSWORD: "file:ledger/db" }`),
 * values resolved by provider plugins on the machine that rectifies, and keyed
 * hashes wherever a scheduler keeps what it deployed, so a changed value is seen
 * without the value ever being stored, labelled, logged or served.
 */
export * from './seal';
export * from './resolve';
