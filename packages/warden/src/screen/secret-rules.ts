/**
 * The provider token formats, written from each provider's published format: a literal prefix, then
 * the body's alphabet and length, and a checksum or structure check where the format has one.
 *
 * Rules are grouped by their ANCHOR, the part of the token the scanner finds cheaply:
 * - `SEPARATOR_RULES`: tokens whose first segment ends in `_`, `-` or `.` (`ghp_`, `sk-`, `SG.`), keyed
 *   by that segment including the separator. The scanner finds separators with `indexOf` and looks
 *   the segment up here, so adding a rule costs nothing per input character.
 * - `CAPS_ANCHOR` / `CAPS_RULES`: tokens with a letter prefix and no separator (`AKIA`, `AIza`, `eyJ`),
 *   found by one combined regex of literals.
 *
 * Every rule regex is sticky, anchored at the token start, uses only bounded quantifiers, and ends with
 * a negative lookahead so a match must end at a token boundary: one attempt costs at most the rule's
 * maximum length, and attempts start only at token boundaries, so a scan is linear in the input.
 */

import { charClassCount, hasCrc32Base62Checksum, isHex, shannonEntropy } from './secret-checks.js';

export interface ProviderRule {
  readonly type: string;
  /** Sticky regex matched at the token start. */
  readonly re: RegExp;
  readonly score: number;
  /** Extra structure check of the matched value: the score to report, or 0 to reject. */
  readonly check?: (value: string, score: number) => number;
}

const END = '(?![A-Za-z0-9_-])';

function rule(type: string, source: string, score: number, check?: ProviderRule['check']): ProviderRule {
  return check ? { type, re: new RegExp(source + END, 'y'), score, check } : { type, re: new RegExp(source + END, 'y'), score };
}

/** GitHub / npm: the last 6 characters are the base62 CRC32 of the 30 before them. */
function crcChecked(value: string, score: number): number {
  const body = value.slice(value.indexOf('_') + 1);
  // A token of the right shape with a wrong checksum was never issued: a typo, or an invented example
  // (documentation tokens such as GitHub's own REST API examples fail the check).
  return hasCrc32Base62Checksum(body) ? score : 0;
}

/** Random bodies mix character classes; words and repeated characters do not. */
function randomBody(minClasses: number): NonNullable<ProviderRule['check']> {
  return (value, score) => {
    const body = value.slice(/[_.-]/.exec(value)?.index ?? 0);
    return charClassCount(body) >= minClasses && shannonEntropy(body) >= 3 ? score : 0;
  };
}

function openAiProject(value: string, score: number): number {
  return value.includes('T3BlbkFJ') ? 0.98 : charClassCount(value.slice(8)) === 3 ? score : 0;
}

/** PyPI API tokens are macaroons whose serialization starts with the location `pypi.org` / `test.pypi.org`. */
function pypiMacaroon(value: string, score: number): number {
  return value.startsWith('pypi-AgEIcHlwaS5vcmc') || value.startsWith('pypi-AgENdGVzdC5weXBpLm9yZw') ? score : 0.8;
}

/** Discord bot tokens start with the base64 of the bot's numeric (snowflake) user id. */
function discordSnowflake(value: string, score: number): number {
  const id = Buffer.from(value.slice(0, value.indexOf('.')), 'base64').toString('latin1');
  return /^[0-9]{17,20}$/.test(id) ? score : 0;
}

const SEPARATOR_RULE_LIST: ReadonlyArray<readonly [string, readonly ProviderRule[]]> = [
  // GitHub classic tokens (ghp_ personal, gho_ OAuth, ghu_ user-to-server, ghs_ server-to-server, ghr_ refresh).
  ...['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'].map(
    (p) => [p, [rule('github_token', `${p}[A-Za-z0-9]{36}`, 0.99, crcChecked)]] as const,
  ),
  ['github_', [rule('github_fine_grained_pat', 'github_pat_[A-Za-z0-9]{20,24}_[A-Za-z0-9]{55,63}', 0.98)]],
  ['npm_', [rule('npm_token', 'npm_[A-Za-z0-9]{36}', 0.99, crcChecked)]],
  [
    'sk_',
    [
      rule('stripe_key', 'sk_(?:live|test)_[A-Za-z0-9]{24,247}', 0.97, randomBody(2)),
      rule('elevenlabs_api_key', 'sk_[a-f0-9]{48}', 0.85),
    ],
  ],
  ['rk_', [rule('stripe_key', 'rk_(?:live|test)_[A-Za-z0-9]{24,247}', 0.97, randomBody(2))]],
  ['whsec_', [rule('stripe_webhook_secret', 'whsec_[A-Za-z0-9+/]{32,88}={0,2}', 0.95, randomBody(2))]],
  ['hf_', [rule('huggingface_token', 'hf_[A-Za-z0-9]{30,40}', 0.95, randomBody(2))]],
  ['api_', [rule('huggingface_token', 'api_org_[A-Za-z0-9]{30,40}', 0.9, randomBody(2))]],
  ...['shpat_', 'shpca_', 'shppa_', 'shpss_'].map((p) => [p, [rule('shopify_token', `${p}[a-fA-F0-9]{32}`, 0.97)]] as const),
  ...['dop_', 'doo_', 'dor_'].map((p) => [p, [rule('digitalocean_token', `${p}v1_[a-f0-9]{64}`, 0.97)]] as const),
  ['lin_', [rule('linear_api_key', 'lin_(?:api|oauth)_[A-Za-z0-9]{40}', 0.95)]],
  ['dckr_', [rule('docker_hub_token', 'dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,36}', 0.95)]],
  ['r8_', [rule('replicate_api_token', 'r8_[A-Za-z0-9]{37}', 0.93, randomBody(2))]],
  ['gsk_', [rule('groq_api_key', 'gsk_[A-Za-z0-9]{48,56}', 0.95, randomBody(2))]],
  ['sbp_', [rule('supabase_token', 'sbp_(?:oauth_)?[a-f0-9]{40}', 0.95)]],
  ['sb_', [rule('supabase_token', 'sb_secret_[A-Za-z0-9_-]{30,64}', 0.95)]],
  ['nfp_', [rule('netlify_token', 'nfp_[A-Za-z0-9]{36,40}', 0.93, randomBody(2))]],
  ['glc_', [rule('grafana_token', 'glc_[A-Za-z0-9+/]{32,400}={0,2}', 0.93, randomBody(2))]],
  ['glsa_', [rule('grafana_token', 'glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}', 0.95)]],
  ['figd_', [rule('figma_token', 'figd_[A-Za-z0-9_-]{40,60}', 0.93)]],
  ['pcsk_', [rule('pinecone_api_key', 'pcsk_[A-Za-z0-9]{4,8}_[A-Za-z0-9]{40,80}', 0.95)]],
  ['lsv2_', [rule('langsmith_api_key', 'lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}', 0.97)]],
  ['rubygems_', [rule('rubygems_api_key', 'rubygems_[a-f0-9]{48}', 0.97)]],
  ['sntryu_', [rule('sentry_token', 'sntryu_[a-f0-9]{64}', 0.97)]],
  ['sntrys_', [rule('sentry_token', 'sntrys_eyJ[A-Za-z0-9+/=_]{60,400}', 0.95)]],
  ['fo1_', [rule('flyio_token', 'fo1_[A-Za-z0-9_-]{43}', 0.93)]],
  ['ntn_', [rule('notion_token', 'ntn_[A-Za-z0-9]{44,48}', 0.93, randomBody(3))]],
  ['secret_', [rule('notion_token', 'secret_[A-Za-z0-9]{43}', 0.85, randomBody(3))]],
  ['fw_', [rule('fireworks_api_key', 'fw_[A-Za-z0-9]{24,32}', 0.85, randomBody(3))]],
  ['pnu_', [rule('prefect_api_key', 'pnu_[A-Za-z0-9]{36}', 0.93, randomBody(3))]],
  ['sgp_', [rule('sourcegraph_token', 'sgp_(?:[a-f0-9]{16}_|local_)?[a-f0-9]{40}', 0.95)]],
  ['aio_', [rule('adafruit_io_key', 'aio_[A-Za-z0-9]{28}', 0.9, randomBody(3))]],
  ['access_', [rule('braintree_token', 'access_token\\$(?:production|sandbox)\\$[a-z0-9]{16}\\$[a-f0-9]{32}', 0.97)]],
  ['pscale_', [rule('planetscale_token', 'pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.-]{32,64}', 0.95)]],
  ['shippo_', [rule('shippo_token', 'shippo_(?:live|test)_[a-f0-9]{40}', 0.95)]],
  ['rdme_', [rule('readme_api_key', 'rdme_[a-z0-9]{70}', 0.93)]],
  ['CLOJARS_', [rule('clojars_token', 'CLOJARS_[a-z0-9]{60}', 0.95)]],
  [
    'sk-',
    [
      rule('anthropic_api_key', 'sk-ant-(?:api|admin|oat|ort|sid)[0-9]{2}-[A-Za-z0-9_-]{80,120}', 0.99),
      rule('openrouter_api_key', 'sk-or-v1-[a-f0-9]{64}', 0.97),
      rule('openai_api_key', 'sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{40,200}', 0.93, openAiProject),
      rule('openai_api_key', 'sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}', 0.99),
      rule('api_key', 'sk-[A-Za-z0-9]{32,64}', 0.75, randomBody(2)),
    ],
  ],
  ...['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glft-', 'glsoat-', 'glcbt-', 'glimt-', 'glagent-', 'gloas-'].map(
    (p) => [p, [rule('gitlab_token', `${p}[A-Za-z0-9_-]{20,80}(?:\\.[A-Za-z0-9_-]{1,40}){0,2}`, 0.97, randomBody(2))]] as const,
  ),
  ...['xoxb-', 'xoxp-', 'xoxa-', 'xoxo-', 'xoxs-', 'xoxr-'].map(
    (p) => [p, [rule('slack_token', `${p}(?:[0-9]{6,15}-){1,3}[A-Za-z0-9]{20,64}`, 0.97)]] as const,
  ),
  ['xoxe-', [rule('slack_token', 'xoxe-[0-9]-[A-Za-z0-9]{100,200}', 0.95)]],
  ['xoxe.', [rule('slack_token', 'xoxe\\.xox[bp]-[0-9]-[A-Za-z0-9]{100,200}', 0.97)]],
  ['xapp-', [rule('slack_token', 'xapp-[0-9]-[A-Z0-9]{8,12}-[0-9]{10,14}-[a-f0-9]{64}', 0.97)]],
  ['pypi-', [rule('pypi_token', 'pypi-AgE[A-Za-z0-9_-]{50,300}', 0.99, pypiMacaroon)]],
  ['PMAK-', [rule('postman_api_key', 'PMAK-[a-f0-9]{24}-[a-f0-9]{34}', 0.97)]],
  ['HRKU-', [rule('heroku_api_key', 'HRKU-[A-Za-z0-9_-]{40,80}', 0.95)]],
  ['NRAK-', [rule('new_relic_key', 'NRAK-[A-Z0-9]{27}', 0.95)]],
  ['CFPAT-', [rule('contentful_token', 'CFPAT-[A-Za-z0-9_-]{43}', 0.95)]],
  ['GOCSPX-', [rule('google_oauth_client_secret', 'GOCSPX-[A-Za-z0-9_-]{28}', 0.97)]],
  ['key-', [rule('mailgun_api_key', 'key-[a-f0-9]{32}', 0.85, (v, s) => (charClassCount(v.slice(4)) >= 2 ? s : 0))]],
  ['xai-', [rule('xai_api_key', 'xai-[A-Za-z0-9]{70,90}', 0.95, randomBody(3))]],
  ['pplx-', [rule('perplexity_api_key', 'pplx-[A-Za-z0-9]{48}', 0.95, randomBody(2))]],
  ['pul-', [rule('pulumi_token', 'pul-[a-f0-9]{40}', 0.95)]],
  ['AGE-', [rule('age_secret_key', 'AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}', 0.99)]],
  ['sq0atp-', [rule('square_token', 'sq0atp-[A-Za-z0-9_-]{22}', 0.95)]],
  ['sq0csp-', [rule('square_token', 'sq0csp-[A-Za-z0-9_-]{43}', 0.95)]],
  ['fio-', [rule('frameio_token', 'fio-u-[A-Za-z0-9_=-]{64}', 0.95)]],
  ['pat-', [rule('hubspot_token', 'pat-(?:na|eu)[0-9]-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', 0.93)]],
  ['SG.', [rule('sendgrid_api_key', 'SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}', 0.98)]],
  ['ya29.', [rule('google_oauth_token', 'ya29\\.[A-Za-z0-9_-]{30,2000}', 0.85, randomBody(2))]],
  ...['hvs.', 'hvb.', 'hvr.'].map((p) => [p, [rule('vault_token', `${p.replace('.', '\\.')}[A-Za-z0-9_-]{24,400}`, 0.9, randomBody(2))]] as const),
  ['dp.', [rule('doppler_token', 'dp\\.(?:pt|st|sa|ct|scim|audit)\\.[A-Za-z0-9]{40,44}', 0.95)]],
  ['sl.', [rule('dropbox_token', 'sl\\.(?:u\\.)?[A-Za-z0-9_-]{130,1400}', 0.85, randomBody(3))]],
  ['sk.', [rule('mapbox_secret_token', 'sk\\.eyJ[A-Za-z0-9_-]{20,300}\\.[A-Za-z0-9_-]{20,100}', 0.95)]],
];

/** Separator-anchored rules keyed by the token's first segment including its separator (`ghp_`, `sk-`, `SG.`). */
export const SEPARATOR_RULES: ReadonlyMap<string, readonly ProviderRule[]> = new Map(SEPARATOR_RULE_LIST);

/** Longest first segment (before its separator) among `SEPARATOR_RULES` keys. */
export const MAX_SEGMENT: number = Math.max(...SEPARATOR_RULE_LIST.map(([key]) => key.length - 1));

/** Letter prefixes without a separator, found by one regex of literals (one pass over the text). */
export const CAPS_ANCHOR = /AKIA|ASIA|ABIA|ACCA|AKID|AIza|eyJ|SK[0-9a-fA-F]|LTAI|EAAA|ATATT3|AKCp|EZAK|GR1348941|dapi/g;

/** Rules for `CAPS_ANCHOR` matches, tried in order at the match position (JWTs are handled separately). */
export const CAPS_RULES: readonly ProviderRule[] = [
  rule('aws_access_key_id', '(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}', 0.97, (v, s) => (/^[A-Z2-7]+$/.test(v.slice(4)) ? s : 0.85)),
  rule('google_api_key', 'AIza[A-Za-z0-9_-]{35}', 0.97),
  rule('twilio_api_key', 'SK[0-9a-fA-F]{32}', 0.93, (v, s) => (isHex(v.slice(2)) && charClassCount(v.slice(2)) >= 2 ? s : 0)),
  rule('tencent_secret_id', 'AKID[A-Za-z0-9]{32}', 0.85, randomBody(3)),
  rule('alibaba_access_key_id', 'LTAI[A-Za-z0-9]{12,20}', 0.9, randomBody(3)),
  rule('square_token', 'EAAA[A-Za-z0-9_-]{60}', 0.85, randomBody(3)),
  rule('atlassian_api_token', 'ATATT3[A-Za-z0-9_=-]{150,250}', 0.95),
  rule('artifactory_token', 'AKCp[A-Za-z0-9]{69}', 0.93),
  rule('easypost_api_key', 'EZAK[A-Za-z0-9]{54}', 0.93),
  rule('gitlab_runner_token', 'GR1348941[A-Za-z0-9_-]{20}', 0.95),
  // Databricks personal access tokens: `dapi`, 32 hex characters, an optional `-<n>` suffix.
  rule('databricks_token', 'dapi[0-9a-f]{32}(?:-[0-9]{1,2})?', 0.95, (v, s) => (charClassCount(v.slice(4, 36)) >= 2 ? s : 0)),
];

/** Discord bot tokens: base64 snowflake id, `.`, 6-char timestamp, `.`, HMAC. Tried at a `.` whose segment starts with M/N/O. */
export const DISCORD_RULE: ProviderRule = rule(
  'discord_bot_token',
  '[MNO][A-Za-z0-9]{22,27}\\.[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,40}',
  0.95,
  discordSnowflake,
);

/** Telegram bot tokens: `<bot id>:AA<33 chars>`, anchored at `:AA`. */
export const TELEGRAM_RULE: ProviderRule = rule('telegram_bot_token', '[0-9]{8,10}:AA[A-Za-z0-9_-]{32,34}', 0.97);

/** Firebase Cloud Messaging legacy server keys: `AAAA<7>:APA91b<134>`, anchored at `:APA91b`. */
export const FCM_RULE: ProviderRule = rule('firebase_fcm_server_key', 'AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{100,160}', 0.95);

/** Mailchimp API keys: 32 hex characters, `-us`, data-center number; anchored at `-us`. */
export const MAILCHIMP_RULE: ProviderRule = rule('mailchimp_api_key', '[0-9a-f]{32}-us[0-9]{1,2}', 0.9);

/** Azure AD (Entra) client secrets: 3 characters, a digit, `Q~`, then 31-34 characters; anchored at `Q~`. */
export const AZURE_AD_SECRET_RULE: ProviderRule = rule('azure_ad_client_secret', '[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}', 0.93);

/** Terraform Cloud / Enterprise API tokens: `<14>.atlasv1.<60-70>`, anchored at `.atlasv1.`. */
export const TERRAFORM_RULE: ProviderRule = rule('terraform_cloud_token', '[A-Za-z0-9]{14}\\.atlasv1\\.[A-Za-z0-9_=-]{60,70}', 0.97);
