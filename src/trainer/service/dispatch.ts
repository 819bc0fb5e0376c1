// Turns an untrusted (method, params) pair into a known method with validated params.
import { RequestParams, type Method } from '../../protocol/requests';
import { TrainerError } from './errors';

export interface ParsedRequest {
  method: Method;
  params: unknown;
}

/** Validates `params` against the method's protocol schema; a clear TrainerError otherwise. */
export function parseRequest(method: string, params: unknown): ParsedRequest {
  if (!Object.prototype.hasOwnProperty.call(RequestParams, method)) {
    throw new TrainerError(`Unknown method '${method}'`, { fix: `Use one of: ${Object.keys(RequestParams).join(', ')}` });
  }
  const m = method as Method;
  const parsed = RequestParams[m].safeParse(params ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ');
    throw new TrainerError(`Invalid parameters for '${m}': ${issues}`, { fix: 'Send parameters that match src/protocol/requests.ts' });
  }
  return { method: m, params: parsed.data };
}
