/** The web client's entry point: checks that the Worker answers, then shows the app. */
async function showServerStatus(): Promise<void> {
  const status = document.querySelector<HTMLElement>('[data-testid="status"]');
  if (!status) return;
  try {
    const response = await fetch('/healthz');
    status.textContent = response.ok ? 'Connected to the Tidings Worker.' : `The Worker answered ${response.status}.`;
  } catch {
    status.textContent = 'The Tidings Worker cannot be reached.';
  }
}

void showServerStatus();
