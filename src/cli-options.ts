/** The CLI's types: what commands read and write (io) and the options commander parses. */

/** Where the CLI writes and what it reads; injectable so tests need no subprocess. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Whether stderr is a terminal (status line) and stdin is a terminal (signal forwarding). */
  stderrIsTty: boolean;
  stdinIsTty: boolean;
}

/** Options shared by `run` and `check`, as commander parses them. */
export interface CommonCliOptions {
  config?: string;
  env?: string[];
  import?: string[];
  envRefs?: boolean;
  logLevel?: string;
  logFormat?: string;
  quiet?: boolean;
  timeout?: string;
  allowInsecureHttp?: boolean;
  vaultAuthMethod?: string;
  vaultAuthMount?: string;
  vaultAuthRole?: string;
  vaultAuthRoleId?: string;
  vaultAuthRoleIdFile?: string;
  vaultAuthSecretIdFile?: string;
  vaultAuthSecretIdEnv?: string;
  vaultAuthWrapped?: boolean;
  vaultAuthWrappedPath?: string;
  vaultAuthTokenFile?: string;
  vaultAuthJwtFile?: string;
  vaultAuthJwtEnv?: string;
  vaultAuthAudience?: string;
  vaultAuthName?: string;
}

/** `run` options. */
export interface RunCliOptions extends CommonCliOptions {
  mode?: string;
  pristine?: boolean;
  keep?: string[];
  drop?: string[];
  killTimeout?: string;
  mask?: boolean;
  watch?: string;
  onChange?: string;
  splay?: string;
  revoke?: boolean;
  audit?: string;
}

/** `check` options. */
export interface CheckCliOptions extends CommonCliOptions {
  json?: boolean;
}
