import { WirelockError } from '../errors.js';
import { children, content, decodeOid, expectTag, parseDer, TAG, type DerNode } from '../x509/der.js';
import { OID_OCSP_SCT_LIST, parseSctListExtension, type SctListEntry } from './sct.js';

/**
 * SCTs stapled in an OCSP response (RFC 6962 section 3.3): the SingleResponse extension
 * 1.3.6.1.4.1.11129.2.4.5. The response's own signature is not checked here: each SCT is signed by
 * its log over the whole certificate, so a forged wrapper cannot make a forged SCT count.
 */

const OID_BASIC_OCSP = '1.3.6.1.5.5.7.48.1.1';

function fail(message: string): WirelockError {
  return new WirelockError('ERR_SCT_MALFORMED', `OCSP response: ${message}`);
}

function extensionsOf(wrapper: DerNode): Array<{ oid: string; value: Uint8Array }> {
  const [list] = children(wrapper);
  if (!list) return [];
  return children(expectTag(list, TAG.SEQUENCE, 'Extensions')).map((ext) => {
    const parts = children(expectTag(ext, TAG.SEQUENCE, 'Extension'));
    const valueNode = parts[parts.length - 1];
    if (!parts[0] || !valueNode || parts.length < 2) throw fail('extension without a value');
    return { oid: decodeOid(parts[0]), value: content(expectTag(valueNode, TAG.OCTET_STRING, 'extnValue')) };
  });
}

/**
 * The SCT lists of every SingleResponse in `der` (for `serial`, the leaf's serial number content
 * bytes, only the matching ones). Throws ERR_SCT_MALFORMED on a malformed response.
 */
export function sctListsFromOcspResponse(der: Uint8Array, serial?: Uint8Array): SctListEntry[] {
  try {
    const response = children(expectTag(parseDer(der), TAG.SEQUENCE, 'OCSPResponse'));
    const status = response[0];
    if (!status || status.tag !== 0x0a) throw fail('no responseStatus');
    if (content(status)[0] !== 0) return [];
    const bytesWrapper = response[1];
    if (!bytesWrapper || bytesWrapper.tag !== 0xa0) throw fail('successful response without responseBytes');
    const [responseBytes] = children(bytesWrapper);
    const [type, octets] = children(expectTag(responseBytes ?? bytesWrapper, TAG.SEQUENCE, 'ResponseBytes'));
    if (!type || !octets || decodeOid(type) !== OID_BASIC_OCSP) return [];
    const basic = children(expectTag(parseDer(content(expectTag(octets, TAG.OCTET_STRING, 'response'))), TAG.SEQUENCE, 'BasicOCSPResponse'));
    const tbs = children(expectTag(basic[0] ?? octets, TAG.SEQUENCE, 'ResponseData'));
    const responses = tbs.find((field, index) => field.tag === TAG.SEQUENCE && index > 0 && tbs[index - 1]?.tag === TAG.GENERALIZED_TIME);
    if (!responses) throw fail('no responses');
    const out: SctListEntry[] = [];
    for (const single of children(responses)) {
      const fields = children(expectTag(single, TAG.SEQUENCE, 'SingleResponse'));
      const certId = children(expectTag(fields[0] ?? single, TAG.SEQUENCE, 'CertID'));
      const serialNode = certId[3];
      if (serial && (!serialNode || Buffer.compare(content(serialNode), serial) !== 0)) continue;
      const wrapper = fields.find((field) => field.tag === 0xa1);
      if (!wrapper) continue;
      for (const ext of extensionsOf(wrapper)) {
        if (ext.oid === OID_OCSP_SCT_LIST) out.push(...parseSctListExtension(ext.value));
      }
    }
    return out;
  } catch (error) {
    if (error instanceof WirelockError && error.code === 'ERR_SCT_MALFORMED') throw error;
    throw fail((error as Error).message);
  }
}
