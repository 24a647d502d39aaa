export { WirelockError, isWirelockError, ERROR_CODES, type ErrorCode, type WirelockErrorDetails } from './errors.js';
export { VERSION } from './version.js';
export { certificatePin, spkiPin } from './x509/certificate.js';
export type * from './policy/types.js';
