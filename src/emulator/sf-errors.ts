/**
 * Salesforce's REST error bodies: a JSON array of `{message, errorCode,
 * fields?}`. Key order and wording follow the recorded responses, because
 * clients (and our own tests) compare them verbatim.
 */
export interface SfErrorItem {
  message: string;
  errorCode: string;
  fields?: string[];
}

export class SfApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown[],
  ) {
    const first = body[0] as SfErrorItem | undefined;
    super(first ? `${first.errorCode}: ${first.message}` : `HTTP ${status}`);
  }

  get items(): SfErrorItem[] {
    return this.body as SfErrorItem[];
  }
}

export function sfError(status: number, errorCode: string, message: string, fields?: string[]): SfApiError {
  const item: SfErrorItem = fields === undefined ? { message, errorCode } : { message, errorCode, fields };
  return new SfApiError(status, [item]);
}

export const errors = {
  invalidSession: () => sfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid'),
  /** Unknown sObject or API version: recorded with `errorCode` first. */
  notFoundResource: () => new SfApiError(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]),
  notFound: () => sfError(404, 'NOT_FOUND', 'The requested resource does not exist'),
  notFoundExternalId: (value: string) => sfError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${value}`),
  malformedId: (value: string, label = 'Record ID', field = 'Id') => sfError(400, 'MALFORMED_ID', `${label}: id value of incorrect type: ${value}`, [field]),
  entityIsDeleted: (status = 404) => sfError(status, 'ENTITY_IS_DELETED', 'entity is deleted', []),
  requestLimitExceeded: () => sfError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'),
  invalidFieldWrite: (field: string, object: string) => sfError(400, 'INVALID_FIELD', `No such column '${field}' on sobject of type ${object}`),
  requiredMissing: (fields: string[]) => sfError(400, 'REQUIRED_FIELD_MISSING', `Required fields are missing: [${fields.join(', ')}]`, fields),
  notWritable: (fields: string[]) =>
    sfError(
      400,
      'INVALID_FIELD_FOR_INSERT_UPDATE',
      `Unable to create/update fields: ${fields.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
      fields,
    ),
  jsonParser: (message: string) => sfError(400, 'JSON_PARSER_ERROR', message),
  invalidCrossReference: () => sfError(400, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', []),
  methodNotAllowed: (method: string) => sfError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are GET,PATCH,HEAD,DELETE`),
};

/** The body a `fail-requests` fault answers with, by status. */
export function faultBody(status: number): SfApiError {
  switch (status) {
    case 400:
      return sfError(400, 'INVALID_QUERY_FILTER_OPERATOR', 'Bad request');
    case 401:
      return errors.invalidSession();
    case 403:
      return errors.requestLimitExceeded();
    case 404:
      return errors.notFound();
    case 429:
    case 420:
      return sfError(status, 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.');
    case 503:
      return sfError(503, 'SERVER_UNAVAILABLE', 'Server temporarily unavailable. Please try again later.');
    default:
      return sfError(
        status,
        'UNKNOWN_EXCEPTION',
        'An unexpected error occurred. Please include this ErrorId if you contact support: 1838137264-12345 (-1883764224)',
      );
  }
}
