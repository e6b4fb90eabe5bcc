export { startHttpServer, type HttpServer, type HttpServerOptions } from './http-server.js';
export { openRuntime, type Runtime } from './runtime.js';
export { httpsOptions } from './tls.js';
export { startWarden, type StartWardenOptions, type WardenServer } from './warden-server.js';
