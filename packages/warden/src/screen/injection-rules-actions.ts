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

export const ACTION_RULES: readonly SignalRule[] = [
  // --- exfiltration shapes
  {
    family: 'exfiltration_link',
    anchors: ['!['],
    re: /!\[[^\]\n]{0,200}\]\(\s{0,4}(?:https?:)?\/\/[^\s)?]{1,300}\?([^\s)]{0,300})/y,
    strength: (m) => (EXFIL_QUERY.test(m[1] ?? '') ? 2 : 0.5),
  },
  {
    family: 'exfiltration_link',
    // A link whose query parameter is a placeholder for data ("?q={secret}", "&d=[DATA]").
    anchors: ['={', '=[', '=$', '=<', '=%7b', '=%5b', '=%24', '=%3c'],
    re: /(?<=(?:https?:\/\/|www\.)[^\s)"'<>]{1,300}[?&][\w.-]{1,30})=(?:\{|\[|\$|<|%7b|%5b|%24|%3c)/y,
    strength: 2,
  },
  {
    family: 'exfiltration_link',
    anchors: ['send', 'post', 'forward', 'upload', 'transmit', 'exfiltrate', 'leak', 'submit', 'append', 'encode', 'embed', 'share', 'include', 'copy'],
    re: /(?:send|post|forward|upload|transmit|exfiltrate|leak|submit|append|encode|embed|share|include|copy)\b([^\n]{0,120}?)\b(?:to|at|into|via|using|in)\s{1,3}(?:the |this |our |my )?(?:(?:url|link|endpoint|webhook|server|address|site)\s{1,3})?(?:https?:\/\/|www\.|[\w.+-]{1,40}@[\w-]{1,40}\.[a-z])/y,
    strength: (m) => (DATA_NOUNS.test(m[1] ?? '') ? 2 : 1),
  },
  {
    // "Email the credentials to ...": only with data worth stealing (plain "email the report to" is ordinary).
    family: 'exfiltration_link',
    anchors: ['email', 'e-mail', 'mail'],
    re: /(?:email|e-mail|mail)\b([^\n]{0,80}?)\b(?:to|at)\s{1,3}(?:https?:\/\/|[\w.+-]{1,40}@[\w-]{1,40}\.[a-z])/y,
    strength: (m) => (DATA_NOUNS.test(m[1] ?? '') && !/\b(?:data|files?|emails?)\b/.test(m[1] ?? '') ? 2 : 0),
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
    re: /(?:call|invoke|use|run|execute|trigger|launch|activate) (?:the |this |your |a |an )?[`'"]?(?:[\w.:-]{2,64}[`'"]? (?:tool|function|plugin|action|api|endpoint)\b|[a-z][a-z0-9]{1,30}(?:__|_|\.)[a-z0-9_.-]{2,60}[`'"]?(?: (?:with|on|to|for)\b|\(|$))/y,
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
    re: /(?:(?:can|could|would|will) (?:you|u)|please)(?: please| kindly| also| now| just)? (?:help|tell|write|create|generate|give|explain|suggest|recommend|list|describe|summari[sz]e|translate|compose|draft|make|teach|calculate|compute|analy[sz]e|plan|design|come up|brainstorm|research|compare|outline|name|identify|predict|rewrite|produce|convert|elaborate|discuss|propose|craft|develop|code|evaluate|rate|rank|estimate|solve|imagine|pretend|act|play|sing|recite|define|paraphrase|invent|share (?:some|a|your|tips|ideas)|find (?:me|some|a |the best|out))\b/y,
    sentenceStart: true,
  },
  {
    family: 'user_request',
    capitalized: true,
    anchors: USER_TASK_VERBS,
    re: new RegExp(`(?:${USER_TASK_VERBS.join('|')})\\b(?: me| us)?,? (?!(?:your|our|us|it|them|attached|here|below|out more|more|now|today|this email|online|at|on|in|for|and|or|to|with|by)\\b)[a-z0-9"'“(]`, 'y'),
    sentenceStart: true,
  },
  {
    // A question for an assistant ("What are the benefits of ...?") sitting in tool output.
    family: 'embedded_question',
    capitalized: true,
    anchors: ['what', 'how', 'why', 'which', 'who', 'where', 'when', 'can i', 'should i', 'could i'],
    re: /(?:what|how|why|which|who|where|when|can i|should i|could i)\b[^.!?\n|]{6,160}\?/y,
    sentenceStart: true,
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
    anchors: ['ignora*', 'ignorez', 'ignoren', 'ignorer', 'ignorier*', 'ignorujte', 'olvida', 'oublie*', 'vergiss', 'dimentica', 'esquec*', 'negeer', 'zignoruj', 'игнорир', 'забудь', 'проигнорир', '忽略', '无视', '忽视', '忘记', '忘掉', '無視', '忘れ', '무시', 'تجاهل', 'انس', 'अनदेखा', 'अनदेखी', 'नज़रअंदाज़', 'नजरअंदाज', 'भूल', 'önceki', 'bỏ qua', 'abaikan', 'pomiń', 'αγνο', 'ξέχασε'],
    re: /(?:ignor(?:a|ez|en|iere|ieren|ar|ate|ujte|er)|olvida|oublie[zr]?|vergiss|dimentica|esque[cç]a|negeer|zignoruj|игнорир\S{0,6}|забудь\S{0,3}|проигнорир\S{0,6}|忽略|无视|忽视|忘记|忘掉|無視|忘れ|무시|تجاهل|انس|अनदेखा|अनदेखी|नज़रअंदाज़|नजरअंदाज|भूल|önceki|bỏ qua|abaikan|pomiń|αγνο\S{0,6}|ξέχασε)[^.!?\n。！？]{0,40}?(?:οδηγ|εντολ|instruc|anweisung|istruzion|instrução|instruções|instrucciones|consigne|richtlijn|instrukc|polecen|инструкц|указани|指令|指示|说明|命令|規則|规则|提示|지시|명령|التعليمات|تعليمات|निर्देश|talimat|hướng dẫn|instruksi|vorherig|anteriores|précédent|precedent|preceden|previas|vorige|poprzedni|предыдущ|之前|以前|先前|上面|上述|이전|السابق|पिछल|पूर्व)/y,
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
