import { IgluError } from '../errors.js';

/**
 * A request the service refuses: an IgluError with the HTTP status to answer (400 bad
 * input, 401 no valid token, 403 a scope that does not allow it, 404 no such task, 409 a
 * state that does not allow it, 413 too large). The API answers `{ error, hint }`.
 */
export class RequestError extends IgluError {
  constructor(
    readonly status: number,
    message: string,
    hint?: string,
  ) {
    super(message, hint ? { hint } : {});
  }
}
