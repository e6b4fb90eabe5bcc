export { buildApp, requestIdFor, type AppOptions } from './app.js';
export { auditRoutes, auditCheckpointSchema, auditEntrySchema, type AuditRoutesOptions } from './audit.js';
export { auditIndexHeader, setAuditReceipt } from './audit-receipt.js';
export {
  auditStatusSchema,
  healthRoutes,
  readinessSchema,
  statusSchema,
  type AuditStatus,
  type HealthProbe,
  type Readiness,
  type Status,
} from './health.js';
export { problemContentType, toProblem, type Problem } from './problem.js';
