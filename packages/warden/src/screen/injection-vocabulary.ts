/**
 * The vocabulary of the prompt-injection rules (injection-signals.ts): word lists shared by several
 * rules and the small context checks that grade a match (is "your reply" an instruction about the
 * response or ordinary correspondence? is the password asked for or merely mentioned?).
 *
 * Everything here is a constant or a pure function; regexes are bounded (literal alternations and
 * fixed-size gaps), as the rules require.
 */

export const GAP = '[^.!?\\n]';
export const QUALIFIER = /\b(?:previous|previously|prior|above|earlier|preceding|former|initial|original|existing|all|any|every|your|system|these|those|other|old|given|current|default)\b/;
export const INSTRUCTION_NOUNS =
  '((?:the |all (?:of )?)?(?:above|foregoing|preceding|previous|prior|earlier)(?! (?:average|all|mentioned|sea|ground|zero|e-?mails?|mails?|invoices?|letters?|memos?|versions?|meetings?|reminders?|newsletters?))|instruc|prompts?|rules|directives?|guidelines|commands|orders|context|programming|constraints|restrictions|guardrails|polic(?:y|ies)|safety|filters|system (?:message|prompt)|training|directions|tasks|everything|anything|what (?:i|you|we) (?:said|told|wrote|were told)|(?:all )?(?:that|what) you(?:\'ve| have)? been (?:told|instructed|given)|what (?:[a-z]{1,15} ){1,3}(?:said|told|wrote|instructed|asked))';
export const IGNORE_VERBS =
  '(?:ignor(?:e|ing)|disregard(?:ing)?|forget(?:ting)?|forgotten(?: about)?|overrid(?:e|ing)|bypass(?:ing)?|neglect(?:ing)?|overlook|discard|skip|abandon|set aside|pay no attention to|do not (?:follow|obey|listen to)|don\'?t (?:follow|obey|listen to)|stop (?:following|obeying)|no longer (?:follow|obey)|erase|throw out|drop)';
export const LANGUAGES =
  '(?:english|spanish|french|german|italian|portuguese|chinese|mandarin|cantonese|japanese|korean|russian|arabic|hindi|bengali|urdu|dutch|swedish|norwegian|danish|finnish|greek|turkish|polish|czech|latin|hebrew|vietnamese|thai|indonesian|malay|swahili|persian|farsi|ukrainian|romanian|hungarian|tagalog|klingon|elvish|esperanto|pirate|shakespearean|old english|emojis?|morse code|binary|hex|base ?\\d\\d|pig latin|leetspeak|l33t|uppercase|all caps|capital letters|lowercase|reverse|code|riddles?|rhymes?|verse|haiku|a (?:different|foreign) language|another language|the \\w{3,15} language)';
/** Anchors for {@link MODEL_NOUNS} (singular and plural). */
export const MODEL_NOUN_ANCHORS = ['ai', 'ais', 'a.i.', 'assistant*', 'chatbot*', 'chat bot*', 'language model*', 'llm*', 'large language model*', 'model*', 'agent*', 'bot', 'bots', 'gpt', 'chatgpt', 'claude', 'gemini', 'copilot', 'bard', 'llama', 'ai agent*', 'ai assistant*', 'ai model*', 'ai system*', 'automated system*', 'virtual assistant*', 'email assistant*', 'autonomous agent*'];
export const MODEL_NOUNS =
  '(?:ai|a\\.i\\.|assistant|chatbot|chat bot|language model|llm|large language model|model|agent|bot|gpt|chatgpt|claude|gemini|copilot|bard|llama|ai agent|ai assistant|ai model|ai system|automated system|virtual assistant|email assistant|autonomous agent)s?';

/** Verbs that open a task for an assistant ("Suggest weekend getaways near ...") when they start a sentence. */
export const USER_TASK_VERBS = [
  'help me', 'tell me', 'give me', 'show me', 'teach me', 'remind me', 'write', 'compose', 'generate', 'create', 'draft', 'craft', 'suggest', 'recommend',
  'summarize', 'summarise', 'explain', 'describe', 'translate', 'list', 'compare', 'analyze', 'analyse', 'outline', 'brainstorm', 'predict',
  'calculate', 'research', 'investigate', 'identify', 'name', 'define', 'paraphrase', 'propose', 'invent', 'imagine', 'design', 'plan', 'provide',
  'find', 'search for', 'look up', 'compile', 'classify', 'categorize', 'determine', 'evaluate', 'assess', 'estimate', 'forecast', 'automate',
  'develop', 'build', 'code', 'convert', 'extract', 'produce', 'recite', 'sing', 'rewrite', 'elaborate on', 'discuss', 'rank', 'rate', 'solve',
  "i'd like you to", 'i would like you to', 'i want you to', 'i need you to', "let's play", 'play a game', 'share some', 'share your thoughts',
];

/** Every `a + sep + b` (anchors made of two words, so that common first words do not run the rule). */
export function combos(first: readonly string[], second: readonly string[], sep = ' '): string[] {
  return first.flatMap((a) => second.map((b) => `${a}${sep}${b}`));
}

export function gap(n: number): string {
  return `${GAP}{0,${n}}?`;
}

export function ignoreStrength(m: RegExpExecArray): number {
  return QUALIFIER.test(m[1] ?? '') || m[3] !== undefined || /^(?:everything|anything|what|all|that|the above|above|previous|prior|preceding|earlier|foregoing)/.test(m[2] ?? '') ? 2 : 1;
}

/** "for your reply", "awaiting your response": ordinary correspondence, not an instruction about the response. */
export const CORRESPONDENCE_BEFORE = /(?:thanks?|thank you|forward to|await(?:ing)?|receiv(?:e|ed|ing)|receipt of|got|regarding|re:|appreciate|for|to|with|after|upon|on)\s{1,3}$/;
export const MANIPULATION_BEFORE =
  /(?:\b(?:in|into|within|throughout|across|of|through)\s{1,3}|\b(?:modify|enhance|alter|adjust|change|format|encode|encrypt|reverse|translate|render|convert|rewrite|write|deliver|present|express|compose|craft|structure|frame|phrase|end|begin|start|conclude|finish|preface|append|tailor|make|keep|limit|embed|incorporate|include|integrate|weave|infuse|enrich|tweak|generate|return|transform|style|refine|fill|insert|ensure|let|spice up|substitute|replace)\b[^.!?\n]{0,25})$/;

/** "add X to your reply": an addition to the response, however long X is (same line). */
export const ADDITION_BEFORE = /\b(?:add|append|attach|prepend|insert|include|tack|pin|put)\b[^\n]{0,110}\bto\s{1,3}$/;

export function responseStrength(beforeNoun: string): number {
  // The anchor is the noun; what matters is what comes before "your ...".
  const before = beforeNoun.replace(/\byour (?:[a-z]{1,12} )?$/, '');
  if (MANIPULATION_BEFORE.test(before.slice(-40)) || ADDITION_BEFORE.test(before)) return 2;
  return CORRESPONDENCE_BEFORE.test(before) ? 0 : 1;
}

/** Words that may stand right before a secret's name in a request for it ("your password", "the admin password"); any "x's" too. */
export const SECRET_OWNERS: ReadonlySet<string> = new Set(['your', 'the', 'my', 'our', 'his', 'her', 'their', 'own', 'current', 'secret', 'real', 'actual', 'account', 'admin', 'master', 'login', 'system', 'full', 'exact', "user's", 'users', "admin's", "'s"]);

/** Asking for the thing rather than mentioning it. */
export const SECRET_ASK = /\b(?:i (?:were to |was to |would |might |could )?ask (?:you )?for|tell|share|give|reveal|disclose|spell|leak|print|show|provide|confirm|send|repeat|output|say|speak|type|write|read|what(?:'s| is| are| was| would)|hint|guess)\b/;

/** A query string made to carry data: placeholders, or parameters named for what they would carry. */
export const EXFIL_QUERY = /[{[<$]|%7b|%5b|%3c|%24|(?:^|&)(?:d|q|data|secret|token|key|password|pw|pass|history|conversation|chat|summary|info|memory|context|prompt|user|email|payload|content|msg|message|text|exfil|leak|cookie|session)=/;

/** "the team will respond in English": a statement about someone, not an instruction. */
export const DECLARATIVE_BEFORE = /\b(?:will|can|may|might|would|could|we|they|staff|team|agents?|support|i|who|which|that|usually|also|often)\s{1,3}$/;

/** Where injected code is meant to end up: the model's own work ("into your solution"); a reader's app or project is documentation. */
export const CODE_TARGET = /\byour (?:code|codebase|solution|implementation|elucidation|explanation|answer|response|reply|algorithm|output|logic|work)\b/;

export const DATA_NOUNS = /\b(?:conversation|chat|history|credentials?|passwords?|secrets?|api ?keys?|tokens?|personal|private|context|memory|previous messages|system prompt|instructions|session|cookies?|data|emails?|contacts|files?)\b/;
