/**
 * Prompt-injection rules for what injected text wants done, rather than how it talks to the model:
 * exfiltration shapes (markdown images and links carrying data, "send X to <address>"), link lures,
 * tool and code execution, a user's task or question planted in tool output, claims of authority, and
 * "ignore previous instructions" / "the password" in other languages. Part of {@link SIGNAL_RULES}.
 */
import type { SignalRule } from './injection-signals.js';
import {
  CODE_TARGET,
  combos,
  DATA_NOUNS,
  EXFIL_QUERY,
  USER_TASK_VERBS,
} from './injection-vocabulary.js';

/** A negation just before a phrase ("did not admit to using", "never state that"). */
const NEGATED = /(?:\bnot|\bnever|n't|\bno one|\bnobody)\s{1,2}(?:\w{1,12}\s{1,2})?$/;
/**
 * What marks a sentence as technical documentation rather than a task for an assistant: code spans,
 * calls, command-line flags, package managers, file names, URLs and code punctuation.
 */
const TECHNICAL = /`|\w\(|\s--?[a-z]|\b(?:npm|npx|yarn|pnpm|pip|brew|apt(?:-get)?|cargo|import|require|const|let|var|function|class|async|await|return|null|undefined|true|false|stdin|stdout|cli|api|sdk|url|json|yaml|config)\b|\.(?:js|ts|mjs|cjs|json|md|py|go|rs|java|ya?ml|toml|sh|html|css)\b|https?:\/\/|=>|[{}<>]|\w\.\w+\(/;

/** Code just before: a backtick, a call, a fenced block, a markdown heading, braces or an arrow. */
const CODE_BEFORE = /`|\w\(|(?:^|\n)#{1,6} |[{}]|=>/;
/**
 * Verbs that open API reference lines and package descriptions as often as tasks ("Create a new
 * instance", "Determine if the value is a string"): weaker on their own than "write", "explain" or "tell me".
 */
const REFERENCE_VERB = /^(?:create|build|define|find|determine|convert|extract|compile|provide|develop|code|name|identify|compare|generate|produce)\b/;

/**
 * A task verb opening a sentence about code or tools, or right after code, is documentation, not a
 * planted task; a verb that also opens reference lines counts for less.
 */
function technicalDamping(m: RegExpExecArray, before: string, after: string): number {
  const sentence = /^[^.!?\n]*/.exec(after)?.[0] ?? '';
  if (TECHNICAL.test(sentence) || CODE_BEFORE.test(before)) return 0.2;
  return REFERENCE_VERB.test(m[0]) ? 0.5 : 1;
}

/** A value to be filled in: `{data}`, `[DATA]`, `$SECRET`, `<history>`, also URL-encoded. */
const PLACEHOLDER = /(?:\{|%7b)\s?[a-z_][\w.-]{0,30}\s?(?:\}|%7d)|(?:\[|%5b)[a-z_][\w .-]{0,30}(?:\]|%5d)|(?:\$|%24)\{?[a-z_]|(?:<|%3c)[a-z_][\w.-]{0,30}(?:>|%3e)/;

/** Personal words: a question with them is likely between people ("Can you make it on Friday?"). */
const OTHERS = /\b(?:you|your|you're|we|we're|us|our|he|she|his|her|they|their)\b/;
/** The asker speaking of themself ("How can I sleep better?"): as often a request to an assistant as to a person. */
const FIRST_PERSON = /\b(?:i|i'm|i've|me|my)\b/;
/**
 * A question standing on a line of its own and addressed to no one ("What are the benefits of solar
 * power?") reads as a task for an assistant; a personal question inside running text as mail between
 * people.
 */
function questionStrength(m: RegExpExecArray, before: string): number {
  // On a line of its own among other lines: a text that is nothing but the question is just a question.
  const ownLine = m[1] !== undefined && (before.length === 0 ? m[1].includes('\n') : /\n[ \t]{0,8}$/.test(before));
  if (OTHERS.test(m[0])) return ownLine ? 0.5 : 0.3;
  if (FIRST_PERSON.test(m[0])) return ownLine ? 0.8 : 0.4;
  return ownLine ? 1 : 0.6;
}

export const ACTION_RULES: readonly SignalRule[] = [
  // --- dictating what the answer must say, planted in content ("we might state: ...", "consider the output as '10'")
  {
    family: 'answer_steering',
    anchors: ["let's", 'let us', 'we might', 'we could', 'we should', 'we must', 'we will', 'you should', 'you must', 'i suggest', "it's common practice to", 'it is common practice to', 'make sure to', 'be sure to', 'remember to'],
    re: /(?:let'?s|let us|we (?:might|could|should|must|will)|you (?:should|must)|i suggest(?: that)?(?: you)?(?: to)?|it'?s common practice to|it is common practice to|make sure to|be sure to|remember to) (?:also |now |just |simply |instead |always )?(?:say|state|claim|assert|answer|respond|reply|report|declare|announce|admit|confess|output|print|tell (?:them|the user|users|the reader|readers|everyone))\b(\s{0,2}:| that| to using| the (?:output|answer|result|capital|total|sum|value) is)?/y,
    // An order to assert something ("we might state: ..."), not a plan in a meeting note ("let's say 3pm").
    // An order to assert something ("we might state: ...", "be sure to state that"), not a plan in a
    // meeting note ("let's say 3pm") or a reminder ("be sure to announce the window").
    strength: (m, before) =>
      NEGATED.test(before) ? 0 : m[1] === ' that' && /\bsay that$/.test(m[0]) ? 0.5 : m[1] !== undefined ? 2 : /^(?:let|we|i suggest)/.test(m[0]) && /(?:state|claim|assert|admit|confess)$/.test(m[0]) ? 1 : 0,
  },
  {
    family: 'answer_steering',
    anchors: ['consider', 'treat', 'take', 'report', 'record', 'present', 'give', 'show', 'declare', 'assume'],
    // A value given for it ("as '10'", "as 100 million"), not a type or a form ("as a string", "as a fraction").
    re: /(?:consider|treat|take|report|record|present|give|show|declare|assume) the (?:final |correct |real |true )?(?:output|answer|result|sum|total|value|capital|response|conclusion|outcome)s? (?:as|to be|is|=)\s{0,2}['"‘“\d]/y,
    strength: 2,
  },
  {
    family: 'answer_steering',
    anchors: ['the output', 'the answer', 'the result', 'the response', 'the conclusion', 'the final output', 'the final answer', 'the correct answer'],
    re: /the (?:final |correct )?(?:output|answer|result|response|conclusion)s? (?:should|must|will|could|would|might) (?:now )?(?:be|read|say|state|always be)\s{1,2}['"‘“]/y,
  },
  {
    family: 'answer_steering',
    anchors: ['state', 'say', 'output', 'print', 'write', 'respond with', 'reply with', 'answer with', 'repeat', 'include'],
    re: /(?:state|say|output|print|write|respond with|reply with|answer with|repeat|include) (?:the following|exactly|only|this|these words|this sentence|this message)\s{0,2}:/y,
    sentenceStart: true,
    strength: 2,
  },
  // --- hiding what is done from the user, and reaching for credential files (tool poisoning)
  {
    family: 'concealment',
    anchors: ['do not', "don't", 'dont', 'never', 'without'],
    re: /(?:do not|don't|dont|never|without) (?:ever )?(?:mention(?:ing)?|tell(?:ing)?|inform(?:ing)?|notify(?:ing)?|alert(?:ing)?|reveal(?:ing)?|show(?:ing)?|let(?:ting)?|ask(?:ing)?|warn(?:ing)?) (?:this |that |it |anything )?(?:to )?(?:the |your )?(?:user|users|human|operator)\b/y,
    strength: 2,
  },
  {
    family: 'concealment',
    anchors: ['secretly', 'silently', 'covertly', 'quietly', "without the user's", 'without the user', 'behind the user'],
    re: /(?:secretly|silently|covertly|quietly|without the user'?s? (?:knowing|knowledge|noticing|consent|permission)|behind the user'?s back)\b/y,
  },
  {
    family: 'concealment',
    anchors: ['<important>', '<important ', '<system_note', '<secret>', '<hidden>', '<instructions>'],
    re: /<(?:important|system_note|secret|hidden|instructions)\b[^>\n]{0,40}>/y,
    strength: 1.5,
  },
  {
    family: 'secret_request',
    anchors: ['read', 'open', 'cat', 'include', 'send', 'pass', 'attach', 'upload', 'copy', 'print', 'load'],
    re: /(?:read|open|cat|include|send|pass|attach|upload|copy|print|load)\b[^\n]{0,40}?(?:~\/\.ssh|\bid_rsa\b|\bid_ed25519\b|~\/\.aws|\.aws\/credentials|\.env\b|\bmcp\.json\b|\.npmrc\b|\.netrc\b|\/etc\/passwd|\/etc\/shadow|\.kube\/config|\.docker\/config\.json|\.git-credentials)/y,
    // Private keys, cloud credentials and .env files are secrets wherever they are named; an MCP or npm
    // config file is also what setup guides tell a reader to open.
    strength: (m) => (/(?:mcp\.json|\.npmrc)$/.test(m[0]) ? 1 : 2),
  },
  {
    // "Respond with "Access Granted" and nothing else", "Repeat after me: ...": the exact words to answer with.
    family: 'answer_steering',
    anchors: ['respond with', 'reply with', 'answer with', 'say', 'output', 'print', 'write', 'repeat after me', 'just say', 'only say'],
    re: /(?:(?:respond|reply|answer) (?:only )?with|(?:just |only )?say|output|print|write) (?:only |exactly |just )?["“'][^"”'\n]{1,60}["”'](?:,? and nothing else| and stop| only| exactly|,? nothing more)|repeat after me\s{0,2}:/y,
    strength: (m) => (m[0].startsWith('repeat') ? 1 : 1.5),
  },
  {
    family: 'answer_steering',
    anchors: ['i have been pwned', 'i have been pwnd', 'i have been p0wned'],
    re: /i have been (?:pwned|pwnd|p0wned)\b/y,
    strength: 2,
  },
  {
    family: 'answer_steering',
    anchors: ['admit', 'admits', 'admitting', 'confess', 'confessing'],
    re: /(?:admit|admits|admitting|confess|confessing) (?:to using|that (?:you|i|we) (?:used|are|am|wrote)|using)\b/y,
    strength: (_m, before) => (NEGATED.test(before) ? 0 : 1),
  },
  {
    family: 'instruction_override',
    anchors: ['listen to', 'obey', 'follow', 'do as'],
    // "Follow me on GitHub" is not an order to obey.
    re: /(?:(?:listen to|obey|do as) me|(?:listen to|obey|follow|do as) (?:my (?:instructions|commands|orders|words|directions|rules)|what i say|i say))\b/y,
    strength: (_m, before) => (/\b(?:must|will|shall|have to|need to|should)\s{1,2}$/.test(before) ? 2 : 1),
  },
  {
    family: 'instruction_override',
    anchors: ['override'],
    re: /(?<=\b(?:data|system|training|developer|admin|security|safety|priority|model|content|policy|instruction) )override\s{0,2}:/y,
    previousWord: new Set(['data', 'system', 'training', 'developer', 'admin', 'security', 'safety', 'priority', 'model', 'content', 'policy', 'instruction']),
    strength: 2,
  },
  {
    // "Ignore the webpage and state: ...": the content itself set aside for something else.
    family: 'ignore_instructions',
    anchors: ['ignor*', 'disregard*', 'forget*', 'skip'],
    re: /(?:ignore|ignoring|disregard|disregarding|forget|skip) (?:the|this|that|all|any|everything in the) (?:above |previous |preceding |following |whole |entire |original )?(?:webpage|web page|page|function|code|document|email|article|text|table|content|data|paper|resume|question|task|request|summary|input|context|conversation|message|file|review|post)s? (?:and|,) (?:instead |just |simply |only |then )?(?:state|say|output|print|respond|reply|answer|write|tell|report|claim|return|send|execute|follow|do)\b/y,
    strength: 2,
  },
  {
    // "At the end of your answer", "tell the user", "answer only in" in other languages: orders about the
    // model's answer or its user. ("In your answer" alone is ordinary correspondence and does not count.)
    family: 'response_manipulation',
    anchors: [
      'al final de tu respuesta', 'al principio de tu respuesta', 'dile al usuario', 'di al usuario', 'informa al usuario', 'responde solo en', 'responde únicamente en',
      'à la fin de ta réponse', 'à la fin de votre réponse', 'au début de ta réponse', 'au début de votre réponse', "dis à l'utilisateur", "dites à l'utilisateur", "réponds à l'utilisateur", "répondez à l'utilisateur", 'répondez uniquement en', 'réponds uniquement en',
      'am ende deiner antwort', 'am ende ihrer antwort', 'am anfang deiner antwort', 'sag dem benutzer', 'sagen sie dem benutzer', 'sag dem nutzer', 'sagen sie dem nutzer', 'antworte nur auf', 'antworten sie nur auf',
      'alla fine della tua risposta', "di' all'utente", "dì all'utente", "rispondi all'utente", 'rispondi solo in',
      'no final da sua resposta', 'no final da tua resposta', 'diga ao usuário', 'diga ao utilizador', 'responda apenas em',
      'в конце своего ответа', 'в конце вашего ответа', 'скажи пользователю', 'сообщи пользователю', 'отвечай только на',
      '在回答的末尾', '在你的回答的末尾', '告诉用户', '回复用户', '回答の最後に', 'ユーザーに伝え', 'ユーザーに言って',
    ],
    re: /(?:al (?:final|principio) de tu respuesta|(?:dile|di|informa) al usuario|responde (?:solo|únicamente) en|(?:à la fin|au début) de (?:ta|votre) réponse|(?:dis|dites|réponds|répondez) à l'utilisateur|répon(?:ds|dez) uniquement en|am (?:ende|anfang) (?:deiner|ihrer) antwort|sag(?:en sie)? dem (?:benutzer|nutzer)|antwort(?:e|en sie) nur auf|alla fine della tua risposta|d[iì]' all'utente|dì all'utente|rispondi (?:all'utente|solo in)|no final da (?:sua|tua) resposta|diga ao (?:usuário|utilizador)|responda apenas em|в конце (?:своего|вашего) ответа|(?:скажи|сообщи) пользователю|отвечай только на|在(?:你的)?回答的末尾|告诉用户|回复用户|回答の最後に|ユーザーに(?:伝え|言って))/y,
    strength: 2,
  },
  {
    // A planted creative task in other languages ("Escribe un poema …", "Écris une histoire …") in tool output.
    family: 'user_request',
    capitalized: true,
    sentenceStart: true,
    anchors: ['escribe', 'escriba', 'écris', 'écrivez', 'schreibe', 'schreiben sie', 'scrivi', 'scriva', 'escreva', 'напиши', 'напишите'],
    re: /(?:escribe|escriba|écris|écrivez|schreibe|schreiben sie|scrivi|scriva|escreva|напиши|напишите) (?:un poema|una poesía|una historia|un cuento|una canción|un ensayo|un poème|une histoire|une chanson|un essai|ein gedicht|eine geschichte|ein lied|einen aufsatz|una poesia|una storia|una canzone|un saggio|um poema|uma história|uma canção|um ensaio|стихотворение|стих|рассказ|историю|песню|эссе)\b/y,
  },
  {
    // The same in other languages: the ignore verb, then "and state / say / write" within the sentence.
    family: 'foreign_ignore',
    anchors: ['ignorez', 'ignora', 'ignorar', 'ignoriere', 'ignorieren', 'ignorate', '無視して', '忽略', '무시하고'],
    re: /(?:ignorez|ignora|ignorar|ignoriere|ignorieren|ignorate|無視して|忽略|무시하고)[^.!?\n。！？]{0,40}?(?:indiquez|dites|écrivez|affirmez|répondez|déclarez|di |dite|scrivi|scrivete|afferma|indica|diga|digas|escribe|escriba|responde|afirma|sag|sagen|schreib|schreiben|antworte|gib|述べ|言って|書いて|答え|说|写|回答|말하|쓰)/y,
    strength: 2,
  },
  // --- exfiltration shapes
  {
    family: 'exfiltration_link',
    anchors: ['!['],
    re: /!\[[^\]\n]{0,200}\]\(\s{0,4}(?:https?:)?\/\/[^\s)?]{1,300}\?([^\s)]{0,300})/y,
    // A placeholder in the query is data to fill in: exfiltration. A literal value ("?token=abc" on a coverage
    // badge) carries nothing of the reader's out; a badge with ordinary parameters ("?branch=main") nothing at all.
    strength: (m) => (PLACEHOLDER.test(m[1] ?? '') ? 2 : EXFIL_QUERY.test(m[1] ?? '') ? 0.1 : 0),
  },
  {
    family: 'exfiltration_link',
    // A link whose query parameter is a placeholder for data ("?q={secret}", "&d=[DATA]").
    anchors: ['={', '=[', '=$', '=<', '=%7b', '=%5b', '=%24', '=%3c'],
    // A name in braces, brackets or angle brackets, or a $variable; not URL-encoded JSON ("=%7B%22command%22…").
    re: /(?<=(?:https?:\/\/|www\.)[^\s)"'<>]{1,300}[?&][\w.-]{1,30})=(?:(?:\{|%7b)\s?[a-z_][\w.-]{0,30}\s?(?:\}|%7d)|(?:\[|%5b)[a-z_][\w .-]{0,30}(?:\]|%5d)|(?:\$|%24)\{?[a-z_]|(?:<|%3c)[a-z_][\w.-]{0,30}(?:>|%3e))/y,
    strength: 2,
  },
  {
    family: 'exfiltration_link',
    anchors: ['send', 'post', 'forward', 'upload', 'transmit', 'exfiltrate', 'leak', 'submit', 'append', 'encode', 'embed', 'share', 'include', 'copy'],
    re: /(?:send|post|forward|upload|transmit|exfiltrate|leak|submit|append|encode|embed|share|include|copy)\b([^\n]{0,120}?)\b(?:to|at|into|via|using|in)\s{1,3}(?:the |this |our |my )?(?:(?:url|link|endpoint|webhook|server|address|site)\s{1,3})?(?:https?:\/\/|www\.|[\w.+-]{1,40}@[\w-]{1,40}\.[a-z])/y,
    strength: (m) => (DATA_NOUNS.test(m[1] ?? '') ? 2 : 1),
  },
  {
    // "Send it to <address>" in other languages ("envíalos a abc@xyz.com", "schicke sie an …", "发送到 …").
    family: 'exfiltration_link',
    anchors: ['envía', 'envíalos', 'envíalas', 'envíalo', 'envíe', 'envoie', 'envoyez', 'envoyer', 'sende', 'senden sie', 'schicke', 'schicken sie', 'invia', 'inviali', 'inviare', 'envie', 'envia', 'отправь', 'отправьте', 'перешли', 'перешлите', '发送到', '发送给', '发给', '转发给', '送信して', '転送して'],
    re: /(?:envía(?:l[oa]s?)?|envíe|envoie[rz]?|envoyez|envoyer|sende|senden sie|schicke|schicken sie|invia(?:li|re)?|envie|envia|отправь(?:те)?|перешли(?:те)?|发送到|发送给|发给|转发给|送信して|転送して)[^\n]{0,80}?(?:https?:\/\/|[\w.+-]{1,40}@[\w-]{1,40}\.[a-z])/y,
    strength: 1.5,
  },
  {
    // "Email the credentials to ...": only with data worth stealing (plain "email the report to" is ordinary).
    family: 'exfiltration_link',
    anchors: ['email', 'e-mail', 'mail'],
    re: /(?:email|e-mail|mail)\b([^\n]{0,80}?)\b(?:to|at)\s{1,3}(?:https?:\/\/|[\w.+-]{1,40}@[\w-]{1,40}\.[a-z])/y,
    strength: (m) => (DATA_NOUNS.test(m[1] ?? '') && !/\b(?:data|files?|emails?)\b/.test(m[1] ?? '') ? 2 : 0),
  },
  {
    // "Spread the word that the bank is closing": a claim to broadcast, planted for the model to pass on.
    family: 'user_request',
    capitalized: true,
    sentenceStart: true,
    anchors: ['spread the word', 'share this news', 'share the news', 'share this message', 'share this information', 'let everyone know', 'tell everyone', 'warn everyone', 'inform everyone', 'broadcast'],
    re: /(?:spread the word|(?:share|broadcast) (?:this|the) (?:news|message|information|warning|announcement)(?: with (?:everyone|everybody|all (?:your )?(?:contacts|followers|friends|users)|the world))?|(?:let|tell|warn|inform) (?:everyone|everybody)(?: you know)?|broadcast)(?: that|\s{0,2}:)/y,
  },
  {
    family: 'link_lure',
    anchors: ['click', 'visit', 'navigate to', 'go to', 'browse to', 'download from', 'redirect', 'follow this link', 'follow the link'],
    re: /(?:click|visit|navigate to|go to|browse to|download from|redirect(?: \w{1,10})? to|follow (?:this|the) link)\b[^\n]{0,30}?(?:https?:\/\/|www\.|\bhere\b|\bthis link|\bthe link|\bbelow)/y,
  },
  // --- tool and code execution
  {
    family: 'tool_invocation',
    anchors: ['call', 'invoke', 'use', 'run', 'execute', 'trigger', 'launch', 'activate'],
    // "use the X tool", or "call payments__send_money with ...": an identifier shaped like a tool name.
    // Method calls and functions in documentation ("use the `delay` function", "call `pack.entry()`") are not
    // tools; "use the official plugin" is advice, "call the send_email tool" an order.
    re: /(?:call|invoke|use|run|execute|trigger|launch|activate) (?:the |this |your |a |an )?[`'"]?(?:[\w:-]{2,64}[`'"]? (?:tool|plugin|action)\b|[a-z][a-z0-9]{1,30}(?:__|_)[a-z0-9_-]{2,60}[`'"]?(?: (?:with|on|to|for)\b|$))/y,
    strength: (m) => (/^use /.test(m[0]) && !/(?:__|_)/.test(m[0]) ? 0.3 : 1),
  },
  {
    family: 'tool_invocation',
    anchors: combos(['execute', 'run', 'eval', 'evaluate'], ['the following', 'this', 'these', 'that', 'the below']),
    re: /(?:execute|run|eval(?:uate)?) (?:the following|this|these|that|the below) (?:code|command|script|snippet|shell|program|payload)/y,
    strength: 0.25,
  },
  {
    // "Embed the following code section into your solution": code to carry into the answer.
    family: 'tool_invocation',
    anchors: combos(
      ['following', 'subsequent', 'below', 'provided', 'given', 'this', 'these', 'attached'],
      ['code', 'snippet', 'snippets', 'script', 'block', 'section', 'function', 'lines', 'excerpt', 'payload', 'command', 'python', 'javascript', 'bash', 'shell'],
    ),
    re: /(?:following|subsequent|below|provided|given|this|these|attached) (?:python |javascript |js |bash |shell )?(?:code|snippets?|script|block|section|function|lines|excerpt|payload|command)(?: \w{1,12})?\b([^\n]{0,80})/y,
    strength: (m, before) => (CODE_TARGET.test(m[1] ?? '') || CODE_TARGET.test(before.slice(before.lastIndexOf('\n') + 1)) ? 2 : 0),
  },
  // --- a user's request inside tool output (a task for the model, not content)
  {
    family: 'user_request',
    capitalized: true,
    anchors: ['can you', 'could you', 'would you', 'will you', 'can u', 'please'],
    re: /(?:(?:can|could|would|will) (?:you|u)|please)(?: please| kindly| also| now| just)? (?!make sure\b)(?:help|tell|write|create|generate|give|explain|suggest|recommend|list|describe|summari[sz]e|translate|compose|draft|make|teach|calculate|compute|analy[sz]e|plan|design|come up|brainstorm|research|compare|outline|name|identify|predict|rewrite|produce|convert|elaborate|discuss|propose|craft|develop|code|evaluate|rate|rank|estimate|solve|imagine|pretend|act|play|sing|recite|define|paraphrase|invent|share (?:some|a|your|tips|ideas)|find (?:me|some|a |the best|out))\b/y,
    sentenceStart: true,
    prose: true,
    strength: technicalDamping,
  },
  {
    family: 'user_request',
    capitalized: true,
    anchors: USER_TASK_VERBS,
    re: new RegExp(`(?:${USER_TASK_VERBS.join('|')})\\b(?: me| us)?,? (?!(?:your|our|us|it|them|attached|here|below|out more|more|now|today|this email|online|at|on|in|for|and|or|to|with|by)\\b)[a-z0-9"'“(]`, 'y'),
    sentenceStart: true,
    prose: true,
    strength: technicalDamping,
  },
  {
    // "Help me with a recipe for ...": a request for help, as its own sentence.
    family: 'user_request',
    capitalized: true,
    anchors: ['help me'],
    re: /help me (?:with|to|find|plan|write|understand|choose|decide|pick|figure out|come up|make|create|learn|prepare|improve|draft|organi[sz]e)\b([^.!?\n]{0,80})/y,
    sentenceStart: true,
    // "Help me with the move if you can?" asks a person.
    strength: (m) => (OTHERS.test(m[1] ?? '') ? 0.25 : 1),
  },
  {
    // A question for an assistant ("What are the benefits of ...?") sitting in tool output.
    family: 'embedded_question',
    capitalized: true,
    anchors: ['what', 'how', 'why', 'which', 'who', 'where', 'when', 'can i', 'should i', 'could i'],
    re: /(?:what|how|why|which|who|where|when|can i|should i|could i)\b[^.!?\n|]{6,160}\?(?:(?=([ \t]{0,4}(?:\n|$)))|)/y,
    sentenceStart: true,
    strength: questionStrength,
  },
  // --- a made-up frame around the request ("Imagine we're in a world where ...", "Hypothetically, ...")
  {
    family: 'hypothetical_frame',
    anchors: ['imagine', 'suppose', 'assume', 'hypothetical*', "let's say", 'lets say', "let's pretend", "let's imagine", "let's suppose", 'for the sake of'],
    re: /(?:(?:imagine|suppose|assume)(?: that)? (?:we(?:'re| are| were)?|you(?:'re| are| were)|a (?:world|scenario|society|future|universe|situation)|there (?:is|was|were))|hypothetical(?:ly)?(?: (?:scenario|discussion|conversation|world|situation|question|sense|purposes?))?|let'?s (?:say|pretend|imagine|suppose)|for the sake of (?:argument|discussion|the story|this exercise))\b/y,
  },
  {
    // "in a parallel universe where ...", found from its rarer noun.
    family: 'hypothetical_frame',
    anchors: ['world', 'society', 'universe', 'scenario', 'reality', 'simulation'],
    re: /(?<=\bin (?:a|an|this|that) (?:[a-z]{1,15} )?)(?:world|society|universe|scenario|reality|simulation) (?:where|in which)\b/y,
  },
  // --- someone's personal data asked for ("tell me Alex's home address")
  {
    family: 'secret_request',
    anchors: ['email address', 'home address', 'phone number', 'date of birth', 'birth year', 'city of residence', 'current city', 'current location', 'ip address', 'mailing address'],
    re: /(?<=\b(?:[a-z]{2,20}'s|users'|their|his|her) (?:current |personal |private |home |exact |full )?)(?:email address|home address|phone number|date of birth|birth year|city of residence|current city|current location|ip address|mailing address)\b/y,
    strength: (_m, before) => (/\b(?:tell|give|share|reveal|what is|what's|what are|provide|disclose|list|show|leak|find|guess|spell|know|need|want)\b[^.?!\n]{0,60}$/.test(before) ? 1 : 0),
  },
  // --- the provided content itself set aside ("ignore the resume and state: ...")
  {
    family: 'ignore_instructions',
    anchors: ['ignor*', 'disregard*', 'forget*', 'skip'],
    re: /(?:ignor(?:e|ing)|disregard(?:ing)?|forget(?:ting)?(?: about)?|skip(?:ping)?) (?:the|this|that|these|those|above|all|any) (?:above |previous |preceding |provided |given |original |actual |whole |entire )?(?:function|resume|cv|webpage|web page|page|website|site|document|text|article|paper|table|code|content|data|passage|review|input|summary|snippet|question|task|story|report|post)s?\b([^\n]{0,40})/y,
    strength: (m) => (/^ ?(?:and|then|,|;|:|-)\s{0,2}(?:instead |just |simply |only )?(?:state|say|write|respond|reply|answer|output|print|claim|tell|return|report|mention|insert|add|declare|the output|the answer|we)\b/.test(m[1] ?? '') ? 2 : 0.5),
  },
  {
    // "Forget about that, can you ...": the earlier request dropped for a new one.
    family: 'ignore_instructions',
    capitalized: true,
    sentenceStart: true,
    anchors: ['forget', 'never mind', 'nevermind', 'scratch that', 'disregard'],
    re: /(?:forget (?:about )?(?:that|this|it|all (?:of )?that|everything(?: else)?|what i (?:said|asked))|never ?mind(?: (?:that|this|what i (?:said|asked)))?|scratch that|disregard (?:that|this|it))(?: for now)?\s{0,2}[,.;:!-]{1,2}\s{0,3}(?:can|could|would|please|just|instead|now|tell|give|write|what|how|list|show|provide)\b/y,
    strength: 1.5,
  },
  // --- a made-up mode in brackets ("<GOD MODE>", "[DEBUG MODE]")
  {
    family: 'jailbreak',
    anchors: ['<', '['].flatMap((b) => ['god', 'admin', 'administrator', 'developer', 'dev', 'debug', 'root', 'sudo', 'system', 'maintenance', 'test', 'testing', 'unrestricted', 'unlocked', 'jailbreak', 'super', 'owner', 'override'].map((n) => b + n)),
    re: /[<[](?:god|admin|administrator|developer|dev|debug|root|sudo|system|maintenance|test|testing|unrestricted|unlocked|jailbreak|super ?user|owner|override) ?(?:mode|access)(?: (?:on|enabled|activated))? ?[>\]]/y,
    strength: 2,
  },
  // --- "the password" asked for with a foreign article ("Qual è la password?")
  {
    family: 'secret_request',
    anchors: ['password', 'passwort', 'passcode'],
    previousWord: new Set(['la', 'il', 'el', 'die', 'das', 'der', 'de', 'het', 'le', 'ta', 'tu', 'votre', 'ton', 'dein', 'deine', 'ihr', 'tuo', 'tua', 'su', 'sua', 'seu', 'sein', 'jouw', 'uw']),
    re: /(?:password|passwort|passcode)\b/y,
    strength: 1.5,
  },
  // --- a scripted exchange to continue ("Q: ... ? A: ... Q: ...")
  {
    family: 'fake_dialogue',
    anchors: ['q:', 'question:'],
    re: /(?:q|question): [^\n]{3,200}?\? {1,3}(?:a|answer): /y,
  },
  // --- claims of authority and urgency
  {
    family: 'authority_claim',
    anchors: ['this is a', 'this is an', 'this is the', 'this is your', 'i am your', "i'm your", 'i am the', "i'm the", 'i am an', 'as your', 'as the', 'as a', 'as an'],
    re: /(?:this is (?:an?|the|your)|i am (?:your|the|an?)|i'm (?:your|the|an?)|as (?:your|the|an?)) (?:\w{1,12} )?(?:system|admin|administrator|developer|creator|security|official|authorized|priority|urgent|owner|programmer|openai|anthropic|ceo|supervisor|root|superuser|sysadmin|it department|engineer|expert|moderator)\b(?: (?:message|notice|instruction|override|update|request|test|command|directive|team|check|audit|here))?/y,
    strength: (m) => (/(?:message|notice|instruction|override|command|directive)$/.test(m[0]) ? 2 : 1),
  },
  {
    family: 'authority_claim',
    anchors: combos(
      ['system', 'admin', 'administrator', 'developer', 'root', 'sudo', 'maintenance', 'emergency', 'priority'],
      ['override', 'mode', 'command', 'directive', 'instruction', 'access', 'privilege*', 'authori*', 'update', 'notice', 'message', 'alert'],
    ),
    re: /(?:system|admin|administrator|developer|root|sudo|maintenance|emergency|priority) (?:override|mode|command|directive|instruction|access|privileges?|authori[sz]ation|update:|notice:|message:|alert:)/y,
  },
  {
    family: 'authority_claim',
    anchors: ['important', 'urgent', 'attention', 'warning', 'alert', 'critical', 'mandatory'],
    re: /(?:important|urgent|attention|warning|alert|critical|mandatory)\s{0,3}(?::|!{1,3})/y,
    strength: (m) => (m[0].includes('!') ? 1 : 0.5),
  },
  {
    family: 'authority_claim',
    anchors: ['you have been', 'you are authorized', 'you are permitted', 'you are allowed', 'you now have', 'you have permission', 'you have full'],
    re: /(?:you have been|you are|you now have|you have) (?:now )?(?:granted|given|authori[sz]ed|permitted|allowed|cleared|unlocked|freed|liberated|released|full|permission|unrestricted|admin|root)\b/y,
  },
  // --- "ignore previous instructions" in other languages (literal phrases; no \b outside Latin script)
  {
    family: 'foreign_ignore',
    anchors: ['ignora*', 'ignorez', 'ignoren', 'ignorer', 'ignorier*', 'ignorujte', 'olvida', 'oublie*', 'vergiss', 'vergessen sie', 'ignore as', 'ignore os', 'ignore las', 'ignore los', 'ignore les', 'ignore todas', 'ignore todos', 'ignore toutes', 'ignore tous', 'dimentica', 'esquec*', 'negeer', 'zignoruj', 'игнорир', 'забудь', 'проигнорир', '忽略', '无视', '忽视', '忘记', '忘掉', '無視', '忘れ', '무시', 'تجاهل', 'انس', 'अनदेखा', 'अनदेखी', 'नज़रअंदाज़', 'नजरअंदाज', 'भूल', 'önceki', 'bỏ qua', 'abaikan', 'pomiń', 'αγνο', 'ξέχασε'],
    re: /(?:ignor(?:a|ez|en|iere|ieren|ar|ate|ujte|er)|ignore (?=as |os |las |los |les |todas |todos |toutes |tous )|olvida|oublie[zr]?|vergiss|vergessen sie|dimentica|esque[cç]a|negeer|zignoruj|игнорир\S{0,6}|забудь\S{0,3}|проигнорир\S{0,6}|忽略|无视|忽视|忘记|忘掉|無視|忘れ|무시|تجاهل|انس|अनदेखा|अनदेखी|नज़रअंदाज़|नजरअंदाज|भूल|önceki|bỏ qua|abaikan|pomiń|αγνο\S{0,6}|ξέχασε)[^.!?\n。！？]{0,40}?(?:οδηγ|εντολ|instruc|anweisung|istruzion|instrução|instruções|instrucciones|consigne|richtlijn|instrukc|polecen|инструкц|указани|指令|指示|说明|命令|規則|规则|提示|지시|명령|التعليمات|تعليمات|निर्देश|talimat|hướng dẫn|instruksi|vorherig|anteriores|précédent|precedent|preceden|previas|vorige|poprzedni|предыдущ|之前|以前|先前|上面|上述|이전|السابق|पिछल|पूर्व)/y,
    strength: 2,
  },
  {
    // Same phrases where the language puts the object first (Hindi, Japanese, Korean, Turkish).
    family: 'foreign_ignore',
    anchors: ['पिछले', 'पिछली', 'पूर्व', '以前の', '前の', '上記の', '이전', 'önceki', 'السابقة', '之前的', '以上的', '上面的'],
    re: /(?:पिछले|पिछली|पूर्व|以前の|前の|上記の|이전|önceki|السابقة|之前的|以上的|上面的)[^.!?\n。！？]{0,30}?(?:अनदेख|नज़रअंदाज़|नजरअंदाज|भूल|無視|忘れ|무시|görmezden|unut|تجاهل|忽略|无视)/y,
    strength: 2,
  },
];
