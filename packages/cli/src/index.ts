export { SousCommand, table, formatError } from './base';
