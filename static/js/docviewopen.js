// The document view's door: a page loads only these few lines; the view
// itself (docview.js) and PDF.js load when a person opens it, so the
// page's first load stays light. Without JavaScript the button stays
// hidden and the links beside it open each PDF in the browser's viewer.
// On the new-run page the view arrives with the form htmx swaps in after
// Detect fields, so views that appear later are picked up too.
// A file chosen on this computer is previewed after Detect fields from its
// own bytes, not downloaded back from Extend: the loader remembers it as
// the detect request leaves, since the swap that brings the preview
// empties the file input.
let detectedFile = null;
document.addEventListener('htmx:beforeRequest', (evt) => {
  const elt = evt.detail && evt.detail.elt;
  if (!elt || !elt.matches || !elt.matches('[data-detect-fields]')) return;
  const input = elt.form && elt.form.querySelector('input[type=file]');
  detectedFile = (input && input.files && input.files[0]) || null;
});

function arm(section) {
  const button = section.querySelector('[data-docview-open]');
  if (!button || section.dataset.docviewArmed) return;
  section.dataset.docviewArmed = 'true';
  if (section.dataset.preview === 'true' && detectedFile) {
    section.localFile = detectedFile;
    detectedFile = null;
  }
  button.classList.remove('hidden');
  button.addEventListener('click', async () => {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      const view = await import(section.dataset.module);
      await view.mount(section);
      button.remove();
    } catch (err) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      const note = document.createElement('p');
      note.className = 'mt-2 text-sm text-red-700 dark:text-red-300';
      note.setAttribute('role', 'alert');
      note.textContent = 'The document view could not start (' + (err?.message || err) + '). The links above open the PDFs in your browser instead.';
      button.after(note);
    }
  });
}

const armAll = () => document.querySelectorAll('[data-docview]').forEach(arm);
armAll();
document.addEventListener('htmx:afterSettle', armAll);
