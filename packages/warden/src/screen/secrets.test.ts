import { createHmac, generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base62, crc32 } from './secret-checks.js';
import { detectSecrets } from './secrets.js';

// Every secret-shaped value below is generated at test time; the only fixed strings are vendor-documented
// examples (used as negatives) and obvious placeholders.

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const HEX = '0123456789abcdef';
const B64 = ALNUM + '+/';
const B64URL = ALNUM + '-_';

/** Random string from `alphabet`, guaranteed to mix classes when the alphabet allows (so checks on randomness pass). */
function rand(alphabet: string, n: number): string {
  for (;;) {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
    const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((re) => re.test(alphabet)).length;
    const got = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((re) => re.test(s)).length;
    if (got === classes && !/(.)\1{3}/.test(s)) return s;
  }
}

function withChecksum(prefix: string): string {
  const body = rand(ALNUM, 30);
  return `${prefix}${body}${base62(crc32(body), 6)}`;
}

function b64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

function makeJwt(claims: object): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', randomBytes(32)).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** Asserts exactly one finding, spanning `value` inside `text`. */
function expectSpan(text: string, value: string, type?: string): void {
  const found = detectSecrets(text);
  const start = text.indexOf(value);
  expect(found, text).toHaveLength(1);
  expect(found[0]).toMatchObject({ category: 'secret', start, end: start + value.length });
  if (type) expect(found[0]!.type).toBe(type);
  expect(found[0]!.score).toBeGreaterThan(0);
  expect(found[0]!.score).toBeLessThanOrEqual(1);
}

function expectNone(text: string): void {
  expect(detectSecrets(text), text).toEqual([]);
}

describe('provider formats', () => {
  const cases: Array<[string, () => string, string]> = [
    ['github_token', () => withChecksum('ghp_'), 'GITHUB_TOKEN={v}'],
    ['github_token', () => withChecksum('gho_'), "headers = {'Authorization': 'token {v}'}"],
    ['npm_token', () => withChecksum('npm_'), '//registry.npmjs.org/:_authToken={v}'],
    ['github_fine_grained_pat', () => `github_pat_11${rand(UPPER + DIGITS, 20)}_${rand(ALNUM, 59)}`, 'export GH="{v}"'],
    ['gitlab_token', () => `glpat-${rand(B64URL, 20)}`, 'the new token is {v} thanks'],
    ['slack_token', () => `xoxb-${rand(DIGITS, 12)}-${rand(DIGITS, 13)}-${rand(ALNUM, 24)}`, 'SLACK_BOT_TOKEN = "{v}"'],
    ['stripe_key', () => `sk_live_${rand(ALNUM, 99)}`, "stripe.api_key = '{v}'"],
    ['stripe_key', () => `rk_test_${rand(ALNUM, 24)}`, '-H "Authorization: Bearer {v}"'],
    ['openai_api_key', () => `sk-proj-${rand(B64URL, 74)}T3BlbkFJ${rand(B64URL, 74)}`, 'OPENAI_API_KEY={v}'],
    ['openai_api_key', () => `sk-${rand(ALNUM, 20)}T3BlbkFJ${rand(ALNUM, 20)}`, 'key: {v}'],
    ['anthropic_api_key', () => `sk-ant-api03-${rand(B64URL, 93)}AA`, 'x-api-key: {v}'],
    ['google_api_key', () => `AIza${rand(B64URL, 35)}`, 'https://maps.googleapis.com/maps/api/js?key={v}&callback=init'],
    ['aws_access_key_id', () => `AKIA${rand(UPPER + '234567', 16)}`, 'aws_access_key_id = {v}'],
    ['twilio_api_key', () => `SK${rand(HEX, 32)}`, 'TWILIO_API_KEY={v}'],
    ['sendgrid_api_key', () => `SG.${rand(B64URL, 22)}.${rand(B64URL, 43)}`, 'sendgrid: {v}'],
    ['huggingface_token', () => `hf_${rand(UPPER + LOWER, 34)}`, 'HF_TOKEN={v}'],
    ['pypi_token', () => `pypi-AgEIcHlwaS5vcmc${rand(B64URL, 120)}`, 'password = {v}'],
    ['shopify_token', () => `shpat_${rand(HEX, 32)}`, "'X-Shopify-Access-Token': '{v}'"],
    ['telegram_bot_token', () => `${rand(DIGITS, 10)}:AA${rand(B64URL, 33)}`, 'bot = Bot(token="{v}")'],
    [
      'discord_bot_token',
      () => `${Buffer.from(String(100000000000000000n + BigInt(randomInt(1e9)))).toString('base64').replace(/=+$/, '')}.${rand(B64URL, 6)}.${rand(B64URL, 38)}`,
      'client.login("{v}")',
    ],
    ['digitalocean_token', () => `dop_v1_${rand(HEX, 64)}`, 'DO_TOKEN={v}'],
    ['databricks_token', () => `dapi${rand(HEX, 32)}`, 'token: {v}'],
    ['age_secret_key', () => `AGE-SECRET-KEY-1${rand('QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L', 58)}`, '# key: {v}'],
    ['jwt', () => makeJwt({ sub: 'svc-build', iat: 1700000000 }), 'Authorization: Bearer {v}'],
    ['mailchimp_api_key', () => `${rand(HEX, 32)}-us${randomInt(1, 20)}`, 'mailchimp: {v}'],
    ['azure_ad_client_secret', () => `${rand(ALNUM, 3)}${randomInt(10)}Q~${rand(ALNUM + '_.', 34)}`, 'AZURE_CLIENT_SECRET={v}'],
    ['stripe_webhook_secret', () => `whsec_${rand(ALNUM, 32)}`, 'endpoint_secret = "{v}"'],
    ['slack_token', () => `xapp-1-A${rand(UPPER + DIGITS, 10)}-${rand(DIGITS, 13)}-${rand(HEX, 64)}`, 'SLACK_APP_TOKEN={v}'],
  ];
  for (const [type, make, template] of cases) {
    it(`finds ${type} in ${template}`, () => {
      const v = make();
      expectSpan(template.replace('{v}', v), v, type);
    });
  }

  it('checks the GitHub and npm CRC32 checksum: a token with a wrong one was never issued', () => {
    for (const prefix of ['ghp_', 'npm_']) {
      const good = withChecksum(prefix);
      const bad = good.slice(0, -1) + (good.endsWith('a') ? 'b' : 'a');
      expect(detectSecrets(`t=${good}`)[0]!.score).toBeGreaterThanOrEqual(0.95);
      expect(detectSecrets(`see ${bad}`)).toEqual([]);
    }
  });

  it('ignores typed sequences and repeated chunks in token bodies', () => {
    expectNone('GITLAB_TOKEN=glpat-1234567890abcdefghij');
    expectNone(`mailchimp: ${'abc123'.repeat(5)}ab-us6`);
  });

  it('reports UTF-16 offsets after astral characters', () => {
    const v = withChecksum('ghp_');
    const text = `🚀🙏 here you go: ${v}`;
    expectSpan(text, v);
  });

  it('finds a token written after a JSON \\n escape', () => {
    const v = withChecksum('ghp_');
    expectSpan(`{"log": "line one\\n${v}"}`, v);
  });

  it('finds an AWS secret access key next to its access key id', () => {
    const id = `AKIA${rand(UPPER + '234567', 16)}`;
    const secret = rand(B64, 40);
    const text = `[default]\naws_access_key_id = ${id}\naws_secret_access_key = ${secret}\n`;
    const found = detectSecrets(text);
    expect(found.map((f) => text.slice(f.start, f.end))).toEqual([id, secret]);
  });
});

describe('private keys', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString().trimEnd();
  const pub = publicKey.export({ format: 'pem', type: 'spki' }).toString().trimEnd();

  it('spans a PEM private key from BEGIN to the end of the END line', () => {
    expectSpan(`here is the key:\n\`\`\`\n${pem}\n\`\`\`\n`, pem, 'private_key');
  });

  it('keeps YAML indentation inside the span', () => {
    const indented = pem.split('\n').join('\n    ');
    expectSpan(`stringData:\n  tls.key: |\n    ${indented}\n`, indented, 'private_key');
  });

  it('finds RSA keys in the traditional format', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs1' }).toString().trimEnd();
    expect(rsa.startsWith('-----BEGIN RSA PRIVATE KEY-----')).toBe(true);
    expectSpan(rsa, rsa, 'private_key');
  });

  it('reports a GCP service account by its private_key string value', () => {
    const escaped = `${pem}\n`.replace(/\n/g, '\\n');
    const json = JSON.stringify({ type: 'service_account', project_id: 'p', private_key_id: rand(HEX, 40) }, null, 2).replace(
      '\n}',
      `,\n  "private_key": "${escaped}",\n  "client_email": "svc@p.iam.gserviceaccount.com"\n}`,
    );
    expectSpan(json, escaped, 'gcp_service_account');
  });

  it('ignores public keys, certificates and authorized_keys lines', () => {
    expectNone(`# verification key\n${pub}\n`);
    expectNone(`-----BEGIN CERTIFICATE-----\n${rand(B64, 64)}\n${rand(B64, 64)}\n-----END CERTIFICATE-----\n`);
    expectNone(`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${rand(B64, 43)} alice@laptop`);
  });

  it('ignores a PEM skeleton with a placeholder body', () => {
    expectNone('-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----');
  });
});

describe('URLs and connection strings', () => {
  it('spans only the password of scheme://user:password@host', () => {
    const pw = rand(ALNUM + '~.-', 18);
    expectSpan(`DATABASE_URL=postgres://deploy:${pw}@db.internal:5432/app`, pw, 'password_in_url');
  });

  it('ignores URL placeholders and references', () => {
    expectNone('DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/DBNAME');
    expectNone('url: amqp://guest:${RABBIT_PASSWORD}@localhost/');
    expectNone("new URL('https://abc:xyz@example.com')");
  });

  it('spans a whole Slack webhook URL', () => {
    const url = `https://hooks.slack.com/services/T${rand(UPPER + DIGITS, 8)}/B${rand(UPPER + DIGITS, 8)}/${rand(ALNUM, 24)}`;
    expectSpan(`SLACK_WEBHOOK=${url}`, url, 'slack_webhook_url');
  });

  it('spans the AccountKey of an Azure connection string', () => {
    const key = `${rand(B64, 86)}==`;
    expectSpan(`DefaultEndpointsProtocol=https;AccountName=logs;AccountKey=${key};EndpointSuffix=core.windows.net`, key, 'azure_storage_key');
  });
});

describe('assignment context', () => {
  it('finds passwords assigned to password-like names', () => {
    const pw = `${rand(LOWER, 6)}@${rand(DIGITS, 4)}${rand(LOWER, 5)}!`;
    for (const t of [`DB_PASSWORD=${pw}`, `"admin_password": "${pw}"`, `  passwd: '${pw}'`, `password := "${pw}"`]) expectSpan(t, pw, 'password');
  });

  it('finds high-entropy values assigned to key/token/secret names', () => {
    const v = rand(ALNUM, 40);
    for (const t of [`SHIPIT_API_KEY='${v}'`, `  webhook_secret: ${v}`, `-H 'X-API-Key: ${v}'`]) expectSpan(t, v, 'generic_api_key');
    const hex = rand(HEX, 32);
    expectSpan(`export PAYMENTS_SECRET="${hex}"`, hex);
  });

  it('finds key material under <qualifier>_key names, but not hex under a bare key', () => {
    const hex = rand(HEX, 64);
    expectSpan(`ENCRYPTION_KEY=${hex}`, hex, 'generic_api_key');
    expectNone(`"key": "${hex}"`);
  });

  it('treats a UUID as a secret only under a token/secret/API-key name', () => {
    const id = crypto.randomUUID();
    expectSpan(`HEROKU_API_KEY=${id}`, id);
    expectNone(`tenant_id=${id}\ncorrelation: ${id}`);
  });

  it('decodes Basic authorization and keeps only real-looking passwords', () => {
    const cred = Buffer.from(`deploy:${rand(ALNUM, 16)}`).toString('base64');
    expectSpan(`-H "Authorization: Basic ${cred}"`, cred, 'basic_auth');
    expectNone(`Authorization: Basic ${Buffer.from('user:password').toString('base64')}`);
  });

  it('finds the password of curl -u user:password', () => {
    const pw = rand(ALNUM, 14) + '!';
    expectSpan(`curl -sS -u deploy:${pw} https://ci.example.com/api`, pw, 'password');
    expectNone('curl -u "$USER:$PASS" https://ci.example.com/api');
  });

  it('reads the name of name/value pairs (Kubernetes env, ECS task definitions)', () => {
    const v = rand(ALNUM, 32);
    expectSpan(`env:\n  - name: PAYMENTS_API_KEY\n    value: "${v}"\n`, v, 'generic_api_key');
    expectSpan(`{"name": "DB_PASSWORD", "value": "${v}!"}`, `${v}!`, 'password');
    expectNone(`env:\n  - name: LOG_LEVEL\n    value: "${v}"\n`);
  });

  it('follows an environment lookup to its literal fallback', () => {
    const v = rand(HEX, 32);
    expectSpan(`const apiKey = process.env.WEATHER_API_KEY ?? '${v}';`, v);
  });

  it('ignores references, templates and code expressions', () => {
    expectNone('api_key = os.environ["OPENAI_API_KEY"]\nclient = OpenAI(api_key=api_key)');
    expectNone('password: {{ .Values.postgresql.auth.password | quote }}');
    expectNone('env:\n  NPM_TOKEN: ${{ secrets.NPM_TOKEN }}');
    expectNone('export GITHUB_TOKEN=$(gh auth token)');
    expectNone('const apiKey = process.env.API_KEY;');
    expectNone('if (password == confirm) { user.password = hash(password); }');
    expectNone('password: str\npassword = self.password\npass = !this.result.ok');
  });

  it('ignores non-secret names and values', () => {
    expectNone(`request_id=${crypto.randomUUID()} user_id=${crypto.randomUUID()}`);
    expectNone(`"integrity": "sha512-${rand(B64, 86)}=="`);
    expectNone(`image: nginx@sha256:${rand(HEX, 64)}`);
    expectNone(`commit ${rand(HEX, 40)}\nAuthor: Dana <dana@example.com>`);
    expectNone(`"next_cursor": "${b64url(JSON.stringify({ offset: 2782, sort: 'id' }))}"`);
    expectNone(`token_url: https://auth.example.com/token\nmax_tokens: 4096\npublic_key: ${rand(B64, 44)}`);
    expectNone('Set `STRIPE_SECRET_KEY` in your environment; never commit the key.');
  });
});

describe('placeholders, masked values and documented examples', () => {
  it.each([
    'GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
    'secret_key: sk_live_XXXXXXXXXXXXXXXXXXXXXXXX',
    'OPENAI_API_KEY=sk-...\nANTHROPIC_API_KEY=<your-anthropic-key>',
    "const client = new Client({ apiKey: 'YOUR_API_KEY_HERE' });",
    'AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX\nAWS_SECRET_ACCESS_KEY=your-secret-access-key',
    'SLACK_BOT_TOKEN=xoxb-your-bot-token',
    'AWS_SECRET_ACCESS_KEY=****************************************',
    'Key: sk_live_••••••••••••K1oq',
    'token: ghp_…wcKX (last used 3 days ago)',
    'Authorization: Bearer [REDACTED]',
    'DB_PASSWORD=<redacted>',
    'aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'curl https://api.stripe.com/v1/charges -u sk_test_4eC39HqLyjWDarjtT1zdp7dc:',
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  ])('ignores %s', (text) => expectNone(text));

  it('ignores Stripe publishable keys', () => {
    expectNone(`const stripe = Stripe('pk_live_${rand(ALNUM, 99)}');`);
  });

  it('ignores a re-signed jwt.io sample token', () => {
    expectNone(makeJwt({ sub: '1234567890', name: 'John Doe', iat: 1516239022 }));
  });

  it('ignores base64 images', () => {
    expectNone(`background: url("data:image/png;base64,iVBORw0KGgo${rand(B64, 400)}");`);
  });
});

describe('robustness', () => {
  it('returns in-bounds, sorted, non-overlapping findings on random anchor soup', () => {
    const pieces = ['ghp_', 'sk-', 'AKIA', 'eyJ', '=', ': ', '"', "'", '://', '@', '-----BEGIN PRIVATE KEY-----', '\\n', '\n', ' ', 'key', 'password', 'token', '.', '_', '-', 'Q~', ':AA', '🔑', rand(ALNUM, 8), rand(B64, 12)];
    for (let round = 0; round < 200; round++) {
      let text = '';
      for (let i = 0; i < 200; i++) text += pieces[randomInt(pieces.length)];
      const found = detectSecrets(text);
      let lastEnd = 0;
      for (const f of found) {
        expect(f.start).toBeGreaterThanOrEqual(lastEnd);
        expect(f.end).toBeGreaterThan(f.start);
        expect(f.end).toBeLessThanOrEqual(text.length);
        expect(f.category).toBe('secret');
        lastEnd = f.end;
      }
    }
  });

  it('returns nothing for empty and tiny inputs', () => {
    for (const t of ['', '=', ':', '_', '-', '.', '://', 'a=b', 'eyJ', 'AKIA']) expectNone(t);
  });
});

describe('linear time on adversarial input', () => {
  const cases: Array<[string, string]> = [
    ['AKIA repeated', 'AKIA'.repeat(50_000)],
    ['key= repeated', 'key='.repeat(50_000)],
    ['password: repeated', 'password: '.repeat(20_000)],
    ['unterminated private key', `-----BEGIN PRIVATE KEY-----\n${randomBytes(750_000).toString('base64')}`],
    ['BEGIN repeated', '-----BEGIN PRIVATE KEY-----\n'.repeat(20_000)],
    ['eyJ repeated', 'eyJ'.repeat(70_000)],
    ['JWT-like dots', `eyJ${'a'.repeat(100)}.`.repeat(2_000)],
    ['ghp_ repeated', 'ghp_'.repeat(50_000)],
    [':// repeated', 'a://b:c'.repeat(30_000)],
    ['quotes after names', 'token="'.repeat(30_000)],
    ['long token', `sk-${'A'.repeat(1_000_000)}`],
    ['one long name', `${'a'.repeat(500_000)}_key=${'b'.repeat(500_000)}`],
    ['separators', '_-.=:'.repeat(100_000)],
    [':AA repeated', '12345678:AA'.repeat(20_000)],
  ];
  for (const [name, text] of cases) {
    it(`finishes quickly on ${name} (${(text.length / 1000).toFixed(0)} K chars)`, () => {
      const t0 = performance.now();
      const found = detectSecrets(text);
      expect(performance.now() - t0).toBeLessThan(500);
      expect(found.length).toBeLessThanOrEqual(text.length);
    });
  }
});
