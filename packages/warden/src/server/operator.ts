/** The actor recorded in the audit log for commands an operator runs on this machine. */
import { userInfo } from 'node:os';

export function operatorActor(): { type: 'operator'; id: string } {
  let id = 'unknown';
  try {
    id = userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers): keep "unknown".
  }
  return { type: 'operator', id };
}
