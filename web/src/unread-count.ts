// The inbox's true unread count, as the badge, the title and the list header show it. The server
// says it with every page of GET /api/emails; live events move it at once; and once the changes
// stop coming it asks the server again, which settles any change counted twice or not at all (an
// email the page has not loaded, an answer that already held the change the page then counted).

/** How long after the last change the count is asked for again. */
export const COUNT_REFRESH_MS = 400;

export class UnreadCount {
  /** The server's last count moved by the changes since; null until the first answer. */
  #total: number | null = null;
  /** Live changes seen so far, to tell whether an answer may predate some of them. */
  #changes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight = false;
  #changedMeanwhile = false;
  readonly #ask: () => Promise<number>;
  readonly #shown: () => void;

  /**
   * @param ask asks the server for the count (e.g. GET /api/emails?limit=1)
   * @param shown called when the count changed by an answer that came in on its own
   */
  constructor(ask: () => Promise<number>, shown: () => void) {
    this.#ask = ask;
    this.#shown = shown;
  }

  /** The count to show; until the server has answered, the unread emails the page has loaded. */
  value(loadedUnread: number): number {
    return this.#total ?? loadedUnread;
  }

  /**
   * A live change the page could count: `delta` is how the loaded emails' unread count moved. It
   * shows at once, and the server is asked once the changes stop: an answer that came in just
   * before the change may already have counted it (the inbox's page and its count are two reads).
   */
  changed(delta: number): void {
    this.#changes++;
    if (this.#total !== null) this.#total = Math.max(0, this.#total + delta);
    this.refreshSoon();
  }

  /** A live change to an email the page has not loaded: only the server knows what it did to the count. */
  changedUnknown(): void {
    this.changed(0);
  }

  /** Before a request that answers the count: pass what this returns to {@link answered}. */
  asking(): number {
    return this.#changes;
  }

  /**
   * The count a page of the API answered. When live changes were counted while the request was on
   * its way, the answer may or may not include them: it stands for now, and the server is asked again.
   */
  answered(count: number, asked: number): void {
    this.#total = count;
    if (this.#changes !== asked) this.refreshSoon();
  }

  /** Asks the server again once no change has come for {@link COUNT_REFRESH_MS}; one request at a time. */
  refreshSoon(): void {
    if (this.#inFlight) {
      this.#changedMeanwhile = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#refresh(), COUNT_REFRESH_MS);
  }

  /** Forgets everything (signing out). */
  reset(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#total = null;
    this.#changedMeanwhile = false;
  }

  async #refresh(): Promise<void> {
    this.#inFlight = true;
    this.#changedMeanwhile = false;
    const asked = this.#changes;
    try {
      this.#total = await this.#ask();
      if (this.#changes !== asked) this.#changedMeanwhile = true;
      this.#shown();
    } catch {
      // The next change or sync asks again.
    } finally {
      this.#inFlight = false;
      // A change seen while the answer was on its way may or may not be in it: ask once more.
      if (this.#changedMeanwhile) this.refreshSoon();
    }
  }
}
