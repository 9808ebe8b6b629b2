import type { FailureSpec } from './stage-failure.js';

/*
 * Logins refused for the state of the account rather than the password typed: each engine maps its
 * own error number to these, so the user reads the same words whichever engine refused.
 */

export const ACCOUNT_LOCKED: FailureSpec = {
  code: 'AUTH_FAILED',
  stage: 'auth',
  message: (c) => `The account of user ${c.user} is locked`,
  hint: () => 'Ask the database administrator to unlock the account.',
};

export const PASSWORD_EXPIRED: FailureSpec = {
  code: 'AUTH_FAILED',
  stage: 'auth',
  message: (c) => `The password of user ${c.user} has expired`,
  hint: () => 'Ask the database administrator to reset the password, then update the connection.',
};
