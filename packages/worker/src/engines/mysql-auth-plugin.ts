/**
 * Which password method authenticated a MySQL/MariaDB login (PASSWORD_AUTH_WEAK, docs/contract.md
 * §12), read from the protocol rather than from text: the client answers the greeting with one
 * plugin, and whenever that is not the account's, the server answers with an AuthSwitchRequest
 * naming the account's plugin. So the plugin that authenticated is the last one a switch named,
 * or else the one the client answered the greeting with.
 */

/**
 * mysql_native_password: a SHA-1 challenge-response over a stored SHA1(SHA1(password)), so a
 * captured exchange or a stolen hash is enough to try passwords offline at SHA-1 speed. The
 * strong ones (caching_sha2_password and sha256_password on MySQL, ed25519 and parsec on MariaDB)
 * are not listed: anything else is not warned about.
 */
const WEAK_PLUGINS: ReadonlySet<string> = new Set(['mysql_native_password']);

export const isWeakPasswordPlugin = (plugin: string): boolean => WEAK_PLUGINS.has(plugin);

/** What the login saw: the greeting's plugin, the last AuthSwitchRequest's, and whether TLS was up. */
export interface ObservedLogin {
  /** The plugin the server named in its greeting (absent without CLIENT_PLUGIN_AUTH). */
  advertised?: string | undefined;
  /** The plugin the last AuthSwitchRequest named, if the server sent one. */
  switchedTo?: string | undefined;
  encrypted: boolean;
}

/**
 * The plugin mysql2 3.x answers the greeting with (`ClientHandshake.sendCredentials`): the
 * server's own when mysql2 implements it and may use it here — mysql_native_password and
 * caching_sha2_password always, sha256_password only under TLS (it then sends the password) —
 * otherwise mysql_native_password. mysql_clear_password is never answered at once: this adapter
 * registers its own plugin for it, and mysql2 answers an advertised plugin that has a registered
 * one with mysql_native_password and waits for the switch.
 */
export function firstAnswerPlugin(advertised: string | undefined, encrypted: boolean): string {
  if (advertised === 'caching_sha2_password') return advertised;
  if (advertised === 'sha256_password' && encrypted) return advertised;
  return 'mysql_native_password';
}

/** The plugin that authenticated the login. */
export const authenticatedPlugin = (login: ObservedLogin): string =>
  login.switchedTo ?? firstAnswerPlugin(login.advertised, login.encrypted);
