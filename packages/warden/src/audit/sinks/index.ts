/**
 * Public API of the audit export sinks: the OCSF mapping, the `AuditSink` seam and its factory, the
 * file / syslog / HTTP sinks, the cursor repository and the runners that export the log to each sink.
 */
export { OCSF_VERSION, toOcsfEvent, type OcsfEvent, type OcsfMetadata, type SinkCheckpoint, type WardenUnmapped } from './ocsf.js';
export { createSink, type AuditSink, type SinkDeps } from './sink.js';
export { createFileSink, type FileSinkConfig, type FileSinkDeps } from './file-sink.js';
export {
  createSyslogSink,
  type SyslogSinkConfig,
  type SyslogSinkDeps,
} from './syslog-sink.js';
export {
  SYSLOG_FACILITY,
  WARDEN_SD_ID,
  escapeParamValue,
  formatSyslogMessage,
  frameOctetCounting,
  syslogSeverity,
  type SyslogHeader,
} from './syslog-format.js';
export { createHttpSink, httpBody, type HttpSinkConfig, type HttpSinkDeps } from './http-sink.js';
export { createSinkCursorRepository, type SinkCursorRepository } from './cursor-repository.js';
export {
  DEFAULT_SINK_BATCH_SIZE,
  createSinkRunner,
  createSinkRunners,
  type SinkLag,
  type SinkLogReader,
  type SinkRunner,
  type SinkRunnerGroup,
  type SinkRunnerOptions,
  type SinkRunnersDeps,
} from './sink-runner.js';
