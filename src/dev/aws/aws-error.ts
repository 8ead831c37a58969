/** An error the dev server answers with: `{"__type": code, "Message": message}` and a status. */
export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  /** Front-end errors (auth, routing) use a lowercase `message` key, service errors `Message`. */
  readonly lowercase: boolean;

  constructor(code: string, message: string, status = 400, lowercase = false) {
    super(message);
    this.name = 'AwsError';
    this.code = code;
    this.status = status;
    this.lowercase = lowercase;
  }

  body(): string {
    return JSON.stringify(
      this.lowercase
        ? { __type: this.code, message: this.message }
        : { __type: this.code, Message: this.message },
    );
  }
}

export const notFound = (): AwsError =>
  new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");

export const markedForDeletion = (): AwsError =>
  new AwsError(
    'InvalidRequestException',
    "You can't perform this operation on the secret because it was marked for deletion.",
  );

export const invalidParameter = (message: string): AwsError =>
  new AwsError('InvalidParameterException', message);

/** Smithy-style constraint failure, as AWS front ends word it. */
export const validation = (message: string): AwsError =>
  new AwsError('ValidationException', `1 validation error detected: ${message}`);
