export { buildApp, requestIdFor, type AppOptions } from './app.js';
export { healthRoutes, readinessSchema, statusSchema, type HealthProbe, type Readiness, type Status } from './health.js';
export { problemContentType, toProblem, type Problem } from './problem.js';
