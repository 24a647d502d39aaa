// wirelock/collect: the fleet collector. Its database drivers (@electric-sql/pglite, pg) are optional
// peer dependencies loaded on first use, so neither the enforcement core nor this module's import needs them.
export { startCollector, DEFAULT_LIMITS, csvCell, type Collector, type CollectorOptions, type IngestLimits } from './server.js';
export { readReport, parseReportBody, type CollectedReport, type ReportFormat } from './reports.js';
export { openStore } from './backends.js';
export { MIGRATIONS, type SqlClient, type StoredReport } from './store.js';
