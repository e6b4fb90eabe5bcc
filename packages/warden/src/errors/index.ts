export { errorCatalog, errorCodes, type ErrorCode, type ErrorSpec } from './catalog.js';
export { WardenError, isWardenError } from './warden-error.js';
