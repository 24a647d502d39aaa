// Transport tests use the lab's per-run PKI, so tests and the attack lab attack with the same certificates.
export { createLabPki as createTestPki, type LabPki as TestPki } from '../../src/lab/pki.js';
