/**
 * Text from a result (command lines, broker URLs, file names, threshold texts) goes into the report through these
 * and nothing else: a command line such as `--topic '</script><script>…'` must show as text, never run.
 */

const ENTITIES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}

/** Escapes for element content and quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch])
}

/** A command line as a person would type it: arguments with shell-special characters single-quoted. */
export function shellQuote(args: readonly string[]): string {
  return args.map((a) => (a !== '' && /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
}
