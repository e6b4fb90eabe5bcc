export { createLogger, redactPaths, redactUrl, type Logger, type LoggerOptions } from './logger.js';
