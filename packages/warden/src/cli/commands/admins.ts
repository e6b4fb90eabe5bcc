/**
 * `warden admins …`: manage admins on a running server with the saved session (or WARDEN_TOKEN):
 * `create NAME --role R` prints the generated password and TOTP secret once, `list`, `disable NAME`
 * and `enable NAME`.
 */
import type { Command } from 'commander';
import { WardenError } from '../../errors/index.js';
import { adminRoles, usernamePattern } from '../../identity/admins.js';
import type { CliContext } from '../context.js';
import { createClient, withServerOptions, type ServerFlags } from '../http-client.js';
import { printResult } from '../output.js';

interface AdminJson {
  username: string;
  role: string;
  status: string;
  createdAt: number;
  updatedAt: number;
}
interface NewAdminJson {
  username: string;
  role: string;
  password: string;
  totpSecret: string;
  totpUri: string;
}
type Flags = ServerFlags & { json?: boolean };

const roles: readonly string[] = adminRoles;

function checkUsername(name: string): string {
  if (!usernamePattern.test(name)) throw new WardenError('WARDEN_USAGE', `not an admin username: ${name} (lowercase a-z, 0-9, -)`);
  return name;
}

export function adminsCommand(program: Command, ctx: CliContext): void {
  const admins = program.command('admins').description('manage admins (role admin; list: any admin)');
  const server = (command: Command) => withServerOptions(command).option('--json', 'print JSON');

  server(admins.command('create <name>').description('create an admin; prints the password and TOTP secret once'))
    .requiredOption('--role <role>', `role (${roles.join(', ')})`)
    .action(async (name: string, flags: Flags & { role: string }) => {
      if (!roles.includes(flags.role)) throw new WardenError('WARDEN_USAGE', `--role must be one of ${roles.join(', ')}`);
      const created = await createClient(flags, ctx).send<NewAdminJson>('POST', '/v1/admins', { username: checkUsername(name), role: flags.role });
      printResult(ctx.io, flags.json === true, created, () => [
        `Admin ${created.username} (${created.role}) created. These are shown only now; hand them over securely:`,
        `  password:    ${created.password}`,
        `  TOTP secret: ${created.totpSecret}`,
        `  TOTP URI:    ${created.totpUri}`,
      ]);
    });

  server(admins.command('list').description('list admins')).action(async (flags: Flags) => {
    const { admins: list } = await createClient(flags, ctx).getJson<{ admins: AdminJson[] }>('/v1/admins');
    printResult(ctx.io, flags.json === true, list, () =>
      list.length === 0 ? ['No admins.'] : list.map((a) => `${a.username.padEnd(24)} ${a.role.padEnd(9)} ${a.status}`),
    );
  });

  for (const action of ['disable', 'enable'] as const) {
    server(admins.command(`${action} <name>`).description(`${action} an admin${action === 'disable' ? ' (their sessions and tokens stop working)' : ''}`)).action(
      async (name: string, flags: Flags) => {
        const admin = await createClient(flags, ctx).send<AdminJson>('POST', `/v1/admins/${encodeURIComponent(checkUsername(name))}/${action}`);
        printResult(ctx.io, flags.json === true, admin, () => [`Admin ${admin.username} is ${admin.status}.`]);
      },
    );
  }
}
