/**
 * Seal secrets for CLI commands: the passphrase or HSM PIN comes from the environment variable the
 * config names, or, on an interactive terminal, from a prompt that does not echo. Never from a flag
 * (flags end up in shell history and process listings).
 */
import type { SealConfig } from '../config/index.js';
import type { SealSecrets } from '../seal/index.js';

export type Prompt = (question: string) => Promise<string | undefined>;

/** A prompt on the controlling terminal that hides what is typed; undefined when stdin is not a TTY. */
export const terminalPrompt: Prompt = async (question) => {
  const stdin = process.stdin;
  if (!stdin.isTTY) return undefined;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve) => {
    let answer = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(answer);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          process.stderr.write('\n');
          process.exit(130);
        }
        answer = ch === '\u007f' ? answer.slice(0, -1) : answer + ch;
      }
    };
    stdin.on('data', onData);
  });
};

/** The secrets a seal needs, from the environment or the prompt. */
export async function sealSecrets(
  seal: SealConfig,
  env: Readonly<Record<string, string | undefined>>,
  prompt: Prompt,
): Promise<SealSecrets> {
  if (seal.kind === 'passphrase') {
    return { passphrase: env[seal.passphraseEnv] || (await prompt('Seal passphrase: ')) };
  }
  if (seal.kind === 'pkcs11') {
    return { pin: env[seal.pinEnv] || (await prompt('HSM user PIN: ')) };
  }
  return {};
}
