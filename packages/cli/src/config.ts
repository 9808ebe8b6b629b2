import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What `dbconn login` keeps: where the API is, and the bearer token when auth is on. */
export interface CliConfig {
  url: string;
  token?: string;
}

/** The environment the CLI reads, once (XDG_CONFIG_HOME, NO_COLOR). */
export interface CliEnvironment {
  configHome: string;
  noColor: boolean;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  return {
    configHome: env.XDG_CONFIG_HOME || join(homedir(), '.config'),
    // https://no-color.org: any non-empty value.
    noColor: (env.NO_COLOR ?? '') !== '',
  };
}

export const configPath = (environment: CliEnvironment) => join(environment.configHome, 'dbconn', 'cli.json');

export async function loadConfig(environment: CliEnvironment): Promise<CliConfig | undefined> {
  try {
    const parsed = JSON.parse(await readFile(configPath(environment), 'utf8')) as Partial<CliConfig>;
    return typeof parsed.url === 'string'
      ? { url: parsed.url, ...(typeof parsed.token === 'string' ? { token: parsed.token } : {}) }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Written 0600 (it may hold a token), in a 0700 directory. */
export async function saveConfig(environment: CliEnvironment, config: CliConfig): Promise<string> {
  const path = configPath(environment);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // writeFile keeps the mode of a file that already exists.
  await chmod(path, 0o600);
  return path;
}
