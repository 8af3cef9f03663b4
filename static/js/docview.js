// The document view of a run's page: the run's PDFs rendered by PDF.js
// (vendored in static/pdfjs-<version>/), one page at a time, with every
// field marked by an SVG box over the canvas, coloured by what the run did
// with it. docviewopen.js imports this module when a person opens the view
// and calls mount with the view's <section>.
//
// Where the boxes come from: the run's schema, when it carries
// extend_edit:bbox(es) and extend_edit:page_index (PDF points from the
// unrotated page's top-left); else the input PDF's widget annotations,
// matched by field name. The values shown beside a box are read from the
// PDFs themselves (viewing them is audited like a download); the values
// table on the page keeps its own masking.

const SVG = 'http://www.w3.org/2000/svg';
const OUTCOME_LABEL = { filled: 'filled', empty: 'left empty', failed: 'named in the failure message' };
const ZOOM_STEP = 1.25;
const ZOOM_MIN = 0.25;
const ZOOM_MAX = 4;
const SIDE_BY_SIDE = '(min-width: 1024px)';

export async function mount(section) {
  const base = new URL(section.dataset.pdfjs, location.href).href;
  const pdfjs = await import(base + 'build/pdf.min.mjs');
  pdfjs.GlobalWorkerOptions.workerSrc = base + 'build/pdf.worker.min.mjs';
  const fields = JSON.parse(section.dataset.fields || 'null') || [];
  const view = new DocView(section, pdfjs, base, fields);
  await view.start();
  return view;
}

// el builds an element: el('button', {class: 'btn', type: 'button'}, 'text').
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children);
  return node;
}

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function round(n) {
  return Math.round(n * 100) / 100;
}

// The text PDF.js gives for a widget's value, or '' when it has none.
function widgetText(value) {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.filter(Boolean).join(', ');
  const s = String(value);
  return s === 'Off' ? '' : s;
}

class DocView {
  constructor(section, pdfjs, base, fields) {
    this.section = section;
    this.pdfjs = pdfjs;
    this.base = base;
    this.fields = fields;
    this.byName = new Map(fields.map((f) => [f.name, f]));
    this.failed = section.dataset.failed === 'true';
    this.files = [];
    // localFile: the file chosen on this computer, on the new-run page's
    // preview (docviewopen.js); the route is the fallback.
    if (section.dataset.input) this.files.push({ kind: 'input', label: 'Input', url: section.dataset.input, local: section.localFile || null });
    if (section.dataset.edited) this.files.push({ kind: 'edited', label: 'Edited', url: section.dataset.edited });
    this.page = 0;
    this.pageCount = 0;
    this.zoom = 'fit';
    this.scale = 1;
    this.selected = '';
    this.widgets = new Map(); // kind -> Map(name -> [{page, rect, value}])
    this.loggedFallback = false;
    this.pageViews = []; // each page's [x1, y1, x2, y2] (its CropBox) in PDF points
  }

  async start() {
    this.buildFrame();
    this.section.dataset.state = 'loading';
    await Promise.all(this.files.map((f) => this.load(f)));
    const loaded = this.files.filter((f) => f.doc);
    if (loaded.length === 0) {
      this.section.dataset.state = 'error';
      return;
    }
    this.pageCount = Math.max(...loaded.map((f) => f.doc.numPages));
    this.section.dataset.state = 'reading';
    await Promise.all(loaded.map((f) => this.readWidgets(f)));
    this.placeFields();
    this.fillPagePicker();
    this.linkTable();
    this.setMode(this.defaultMode());
    this.sideBySide.addEventListener('change', () => this.setMode(this.defaultMode()));
    await this.render();
    // A FAILED run opens on what its message names: the field's page,
    // its box in view and its details in the panel.
    const named = this.failed && this.fields.find((f) => f.outcome === 'failed' && f.places.length);
    if (named) await this.select(named.name, 'row');
    // Fit width follows the window; the observer's first call (on
    // observe) changes nothing.
    let width = this.panesEl.clientWidth;
    new ResizeObserver(() => {
      if (this.panesEl.clientWidth === width) return;
      width = this.panesEl.clientWidth;
      if (this.zoom === 'fit') this.scheduleRender();
    }).observe(this.panesEl);
  }

  // buildFrame makes the toolbar, the legend, the note, the field panel
  // and the panes' container inside the view's root.
  buildFrame() {
    const root = this.section.querySelector('[data-docview-root]');
    root.classList.remove('hidden');
    this.root = root;
    this.sideBySide = window.matchMedia(SIDE_BY_SIDE);

    const toolbar = el('div', { class: 'flex flex-wrap items-center gap-x-4 gap-y-2', role: 'toolbar', 'aria-label': 'Document' });
    if (this.files.length > 1) {
      const group = el('div', { class: 'inline-flex overflow-hidden rounded-md border border-slate-300 text-xs dark:border-slate-700', role: 'group', 'aria-label': 'Which file' });
      this.modeButtons = {};
      for (const [mode, label] of [['edited', 'Edited'], ['input', 'Input'], ['both', 'Side by side']]) {
        const b = el('button', { type: 'button', class: 'docview-seg' + (mode === 'both' ? ' hidden lg:inline-block' : ''), 'aria-pressed': 'false', 'data-testid': 'docview-mode-' + mode }, label);
        b.addEventListener('click', () => this.setMode(mode, true));
        this.modeButtons[mode] = b;
        group.append(b);
      }
      toolbar.append(group);
    }

    const nav = el('div', { class: 'flex items-center gap-1 text-xs' });
    this.prevButton = el('button', { type: 'button', class: 'btn btn-secondary px-2 py-1', 'aria-label': 'Previous page', 'data-testid': 'docview-prev' }, '‹');
    this.nextButton = el('button', { type: 'button', class: 'btn btn-secondary px-2 py-1', 'aria-label': 'Next page', 'data-testid': 'docview-next' }, '›');
    this.pageSelect = el('select', { class: 'input w-auto py-1 text-xs', 'aria-label': 'Page', 'data-testid': 'docview-page' });
    this.prevButton.addEventListener('click', () => this.goTo(this.page - 1));
    this.nextButton.addEventListener('click', () => this.goTo(this.page + 1));
    this.pageSelect.addEventListener('change', () => this.goTo(Number(this.pageSelect.value)));
    nav.append(this.prevButton, this.pageSelect, this.nextButton);
    toolbar.append(nav);

    const zoom = el('div', { class: 'flex items-center gap-1 text-xs', role: 'group', 'aria-label': 'Zoom' });
    const zoomButton = (label, name, testid, action) => {
      const b = el('button', { type: 'button', class: 'btn btn-secondary px-2 py-1', 'aria-label': name, 'data-testid': testid }, label);
      b.addEventListener('click', action);
      zoom.append(b);
      return b;
    };
    zoomButton('Fit width', 'Fit width', 'docview-fit', () => this.setZoom('fit'));
    zoomButton('100%', 'Actual size', 'docview-actual', () => this.setZoom(1));
    zoomButton('−', 'Zoom out', 'docview-zoom-out', () => this.setZoom(this.scale / ZOOM_STEP));
    zoomButton('+', 'Zoom in', 'docview-zoom-in', () => this.setZoom(this.scale * ZOOM_STEP));
    this.zoomLabel = el('span', { class: 'muted w-12 text-right tabular-nums', 'aria-live': 'polite', 'data-testid': 'docview-zoom' });
    zoom.append(this.zoomLabel);
    toolbar.append(zoom);

    const legend = el('p', { class: 'muted flex flex-wrap items-center gap-x-4 gap-y-1 text-xs', 'data-testid': 'docview-legend' });
    const outcomes = this.failed ? ['filled', 'empty', 'failed'] : ['filled', 'empty'];
    for (const outcome of outcomes) {
      const key = svgEl('svg', { width: '18', height: '12', viewBox: '0 0 18 12', 'aria-hidden': 'true', class: 'docbox docbox-' + outcome });
      key.append(svgEl('rect', { x: '1.5', y: '1.5', width: '15', height: '9', rx: '1.5' }));
      legend.append(el('span', { class: 'inline-flex items-center gap-1.5' }, key, OUTCOME_LABEL[outcome]));
    }
    legend.append(el('span', {}, 'PageUp/PageDown turn pages; select a box or a row to link them.'));

    this.note = el('p', { class: 'text-sm text-amber-800 dark:text-amber-300', role: 'status', 'data-testid': 'docview-note' });
    this.panel = el('div', { class: 'docview-panel min-h-[3.5rem] rounded-md border border-slate-200 px-3 py-2 text-sm dark:border-slate-700', 'aria-live': 'polite', 'data-testid': 'docview-field' });
    this.panel.append(el('span', { class: 'muted' }, 'Point at or select a box to see its field.'));
    this.panesEl = el('div', { class: 'grid grid-cols-1 gap-3', 'data-testid': 'docview-panes' });
    root.append(el('div', { class: 'space-y-3' }, toolbar, legend, this.note, this.panel, this.panesEl));

    for (const file of this.files) {
      const canvas = el('canvas', { class: 'block bg-white', 'data-testid': 'docview-canvas', 'data-kind': file.kind });
      const svg = svgEl('svg', { class: 'docview-overlay', 'data-testid': 'docview-overlay' });
      const sheet = el('div', { class: 'docview-sheet relative mx-auto w-max shadow ring-1 ring-slate-300 dark:ring-slate-700' }, canvas, svg);
      const scroller = el('div', { class: 'docview-scroller max-h-[80vh] overflow-auto rounded-md bg-slate-100 p-3 dark:bg-slate-950', tabindex: '0', 'aria-label': file.label + ' PDF, page view' }, sheet);
      const pane = el('section', { class: 'min-w-0', 'data-testid': 'docview-pane', 'data-kind': file.kind, 'aria-label': file.label + ' PDF' },
        el('h3', { class: 'mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400' }, file.label), scroller);
      Object.assign(file, { pane, scroller, sheet, canvas, svg });
      scroller.addEventListener('scroll', () => this.syncScroll(file));
      this.panesEl.append(pane);
    }
    root.addEventListener('keydown', (e) => this.onKey(e));
  }

  async load(file) {
    try {
      const source = file.local
        ? { data: new Uint8Array(await file.local.arrayBuffer()) }
        : { url: new URL(file.url, location.href).href };
      file.pane.dataset.source = file.local ? 'local' : 'server';
      file.doc = await this.pdfjs.getDocument({
        ...source,
        wasmUrl: this.base + 'wasm/',
        standardFontDataUrl: this.base + 'standard_fonts/',
        cMapUrl: this.base + 'cmaps/',
        cMapPacked: true,
        enableXfa: false,
      }).promise;
    } catch (err) {
      file.error = err;
      this.addNote('The ' + file.label.toLowerCase() + ' PDF could not be loaded (' + (err?.message || err) + '); use the link above to open it in your browser.');
      file.pane.classList.add('hidden');
    }
  }

  addNote(text) {
    this.note.textContent = (this.note.textContent ? this.note.textContent + ' ' : '') + text;
  }

  // readWidgets collects the form fields of every page of file: where
  // they are, and the value each holds.
  async readWidgets(file) {
    const byName = new Map();
    for (let i = 0; i < file.doc.numPages; i++) {
      const page = await file.doc.getPage(i + 1);
      this.pageViews[i] ??= page.view;
      for (const a of await page.getAnnotations({ intent: 'display' })) {
        if (a.subtype !== 'Widget' || !a.fieldName || !a.rect) continue;
        if (!byName.has(a.fieldName)) byName.set(a.fieldName, []);
        const value = a.checkBox || a.radioButton ? (a.fieldValue && a.fieldValue !== 'Off' && a.fieldValue === a.exportValue ? a.exportValue || 'on' : '') : widgetText(a.fieldValue);
        byName.get(a.fieldName).push({ page: i, rect: a.rect, value, view: page.view });
      }
    }
    this.widgets.set(file.kind, byName);
  }

  // placeFields decides where each field's boxes are: the schema's, when
  // they are plausible, else the input's widgets. A run without a schema
  // that positions its fields shows every widget of the form.
  placeFields() {
    const source = this.widgets.get('input') || this.widgets.get('edited') || new Map();
    const positioned = this.fields.some((f) => f.boxes?.length && f.page !== undefined);
    if (!positioned) {
      for (const name of source.keys()) {
        if (!this.byName.has(name)) {
          const f = { name, outcome: 'empty' };
          this.fields.push(f);
          this.byName.set(name, f);
        }
      }
    }
    let fallbacks = 0;
    for (const f of this.fields) {
      f.places = []; // [{page, rect: [x1, y1, x2, y2] in PDF user space}]
      if (f.boxes?.length && f.page !== undefined) {
        const places = this.schemaPlaces(f);
        if (places) {
          f.places = places;
          continue;
        }
        fallbacks++;
      }
      for (const w of source.get(f.name) || []) f.places.push({ page: w.page, rect: w.rect });
    }
    if (fallbacks && !this.loggedFallback) {
      this.loggedFallback = true;
      console.info('docview: ' + fallbacks + " field(s) have schema boxes outside their page or in other units; drawn from the input's form fields instead");
    }
    if (!this.fields.some((f) => f.places.length)) {
      this.addNote('No field is marked: the run\'s schema carries no field positions and the PDF has no form fields (a scanned form, perhaps), so the pages are shown as they are.');
    }
  }

  // schemaPlaces turns a field's schema boxes into PDF user space, or
  // returns null when they do not look like points on that page.
  schemaPlaces(f) {
    const anyFile = this.files.find((file) => file.doc);
    const view = this.pageViews?.[f.page];
    if (!anyFile || f.page < 0 || f.page >= this.pageCount || !view) return null;
    const width = view[2] - view[0];
    const height = view[3] - view[1];
    const slack = 2;
    const places = [];
    for (const b of f.boxes) {
      const inside = b.left >= -slack && b.top >= -slack && b.right <= width + slack && b.bottom <= height + slack && b.right > b.left && b.bottom > b.top;
      const unitSquare = b.right <= 1.5 && b.bottom <= 1.5; // fractions of the page, not points
      if (!inside || unitSquare) return null;
      places.push({ page: f.page, rect: [view[0] + b.left, view[3] - b.bottom, view[0] + b.right, view[3] - b.top] });
    }
    return places;
  }

  fillPagePicker() {
    this.pageSelect.replaceChildren();
    for (let i = 0; i < this.pageCount; i++) {
      const count = this.fields.filter((f) => f.places.some((p) => p.page === i)).length;
      this.pageSelect.append(el('option', { value: String(i) }, 'Page ' + (i + 1) + ' of ' + this.pageCount + (count ? ' · ' + count + (count === 1 ? ' field' : ' fields') : '')));
    }
  }

  defaultMode() {
    if (this.files.length < 2) return this.files[0].kind;
    if (this.userMode) return this.userMode === 'both' && !this.sideBySide.matches ? 'edited' : this.userMode;
    return this.sideBySide.matches ? 'both' : 'edited';
  }

  setMode(mode, chosen = false) {
    if (chosen) this.userMode = mode;
    this.mode = mode;
    for (const file of this.files) file.pane.classList.toggle('hidden', !file.doc || (mode !== 'both' && mode !== file.kind));
    this.panesEl.classList.toggle('lg:grid-cols-2', mode === 'both');
    for (const [m, b] of Object.entries(this.modeButtons || {})) b.setAttribute('aria-pressed', String(m === mode));
    if (chosen) this.render();
  }

  visibleFiles() {
    return this.files.filter((f) => f.doc && !f.pane.classList.contains('hidden'));
  }

  setZoom(zoom) {
    this.zoom = zoom === 'fit' ? 'fit' : Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, zoom));
    this.render();
  }

  goTo(page) {
    if (page < 0 || page >= this.pageCount || page === this.page) return Promise.resolve();
    this.page = page;
    return this.render();
  }

  scheduleRender() {
    clearTimeout(this.resizeTimer);
    this.section.dataset.state = 'rendering';
    this.resizeTimer = setTimeout(() => this.render(), 150);
  }

  // render draws the current page in every visible pane, then its boxes.
  async render() {
    const generation = (this.generation = (this.generation || 0) + 1);
    this.section.dataset.state = 'rendering';
    this.pageSelect.value = String(this.page);
    this.prevButton.disabled = this.page === 0;
    this.nextButton.disabled = this.page >= this.pageCount - 1;
    const files = this.visibleFiles();
    await Promise.all(files.map((file) => this.renderFile(file, generation)));
    if (generation !== this.generation) return;
    this.zoomLabel.textContent = Math.round(this.scale * 100) + '%';
    this.section.dataset.page = String(this.page);
    if (this.selected) this.highlight(this.selected, false);
    this.section.dataset.state = 'ready';
  }

  async renderFile(file, generation) {
    const canvas = file.canvas;
    if (this.page >= file.doc.numPages) {
      canvas.width = canvas.height = 0;
      file.svg.replaceChildren();
      return;
    }
    const page = await file.doc.getPage(this.page + 1);
    const natural = page.getViewport({ scale: 1 });
    if (this.zoom === 'fit') {
      const room = file.scroller.clientWidth - 24; // the scroller's padding
      this.scale = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, room / natural.width));
    } else {
      this.scale = this.zoom;
    }
    const viewport = page.getViewport({ scale: this.scale });
    const ratio = window.devicePixelRatio || 1;
    file.task?.cancel();
    // A canvas of its own per render: a cancelled render may still be
    // drawing into the old one.
    const fresh = el('canvas', { class: canvas.className, 'data-testid': 'docview-canvas', 'data-kind': file.kind, width: String(Math.floor(viewport.width * ratio)), height: String(Math.floor(viewport.height * ratio)) });
    // CSSOM sizes (not a style attribute) are allowed under the CSP.
    fresh.style.width = Math.floor(viewport.width) + 'px';
    fresh.style.height = Math.floor(viewport.height) + 'px';
    const task = page.render({ canvas: fresh, canvasContext: fresh.getContext('2d'), viewport, transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : undefined });
    file.task = task;
    try {
      await task.promise;
    } catch (err) {
      if (err?.name === 'RenderingCancelledException') return;
      throw err;
    }
    if (generation !== this.generation) return;
    file.canvas.replaceWith(fresh);
    file.canvas = fresh;
    file.pane.dataset.renderedPage = String(this.page);
    this.drawBoxes(file, viewport);
  }

  // drawBoxes puts one <g> per field of this page over the canvas, in the
  // viewport's pixels (PDF.js applies the page's /Rotate and CropBox).
  drawBoxes(file, viewport) {
    const svg = file.svg;
    const w = Math.floor(viewport.width);
    const h = Math.floor(viewport.height);
    svg.setAttribute('width', String(w));
    svg.setAttribute('height', String(h));
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    svg.replaceChildren();
    for (const f of this.fields) {
      const places = f.places.filter((p) => p.page === this.page);
      if (!places.length) continue;
      const g = svgEl('g', { class: 'docbox docbox-' + f.outcome, tabindex: '0', role: 'button', 'data-field': f.name, 'data-outcome': f.outcome, 'data-page': String(this.page), 'data-testid': 'docview-box',
        'aria-label': f.name + ', ' + OUTCOME_LABEL[f.outcome] });
      const title = svgEl('title');
      title.textContent = f.name + (f.description ? ' — ' + f.description : '') + ' (' + OUTCOME_LABEL[f.outcome] + ')';
      g.append(title);
      for (const p of places) {
        // Both corners through the viewport's transform (PDF.js 6 has no
        // convertToViewportRectangle any more).
        const [x1, y1] = viewport.convertToViewportPoint(p.rect[0], p.rect[1]);
        const [x2, y2] = viewport.convertToViewportPoint(p.rect[2], p.rect[3]);
        g.append(svgEl('rect', { x: String(round(Math.min(x1, x2))), y: String(round(Math.min(y1, y2))), width: String(round(Math.abs(x2 - x1))), height: String(round(Math.abs(y2 - y1))), rx: '1.5' }));
      }
      g.addEventListener('mouseenter', () => this.showField(f));
      g.addEventListener('focus', () => this.showField(f));
      g.addEventListener('click', () => this.select(f.name, 'box'));
      g.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          this.select(f.name, 'box');
        }
      });
      svg.append(g);
    }
  }

  // showField fills the panel with the field's name, description and the
  // values the PDFs hold (both, where the input already had one).
  showField(f) {
    const after = this.valueIn('edited', f.name);
    const before = this.valueIn('input', f.name);
    const rows = [el('div', { class: 'flex flex-wrap items-baseline gap-x-2' },
      el('span', { class: 'font-mono font-medium break-all' }, f.name),
      el('span', { class: 'docview-outcome docview-outcome-' + f.outcome }, OUTCOME_LABEL[f.outcome]),
      f.fieldType ? el('span', { class: 'muted text-xs' }, f.fieldType) : '',
      f.required ? el('span', { class: 'muted text-xs' }, 'required') : '')];
    if (f.description) rows.push(el('div', { class: 'muted text-xs' }, f.description));
    const values = el('dl', { class: 'mt-1 grid grid-cols-[auto_1fr] gap-x-3 text-xs' });
    if (this.widgets.has('edited')) {
      // A flattened PDF keeps its values as ink only, no form fields.
      const flattened = this.widgets.get('edited').size === 0;
      values.append(el('dt', { class: 'muted' }, 'In the edited PDF'),
        el('dd', { 'data-testid': 'docview-value-edited' }, after || (flattened ? 'printed on the page (the PDF is flattened)' : '—')));
    }
    if (before || !this.widgets.has('edited')) values.append(el('dt', { class: 'muted' }, 'In the input'), el('dd', { 'data-testid': 'docview-value-input' }, before || '—'));
    rows.push(values);
    this.panel.replaceChildren(...rows);
  }

  valueIn(kind, name) {
    const ws = this.widgets.get(kind)?.get(name) || [];
    return ws.map((w) => w.value).filter(Boolean).join(', ');
  }

  // select links a box and its values-table row: from a row, the page
  // turns to the box and scrolls it into view; from a box, the row does.
  async select(name, from) {
    const f = this.byName.get(name);
    if (!f) return;
    this.selected = name;
    this.showField(f);
    const first = f.places[0];
    if (first && first.page !== this.page) await this.goTo(first.page);
    this.highlight(name, true, from);
  }

  highlight(name, scroll, from) {
    for (const g of this.root.querySelectorAll('g.docbox.is-active')) g.classList.remove('is-active');
    for (const file of this.visibleFiles()) {
      const g = [...file.svg.querySelectorAll('g.docbox')].find((n) => n.dataset.field === name);
      if (!g) continue;
      g.classList.add('is-active');
      if (scroll) this.scrollToBox(file, g);
    }
    for (const tr of document.querySelectorAll('[data-testid=filled-value].is-selected')) tr.classList.remove('is-selected');
    const row = this.rowOf(name);
    if (row) {
      row.classList.add('is-selected');
      if (scroll && from === 'box') row.scrollIntoView({ block: 'nearest' });
    }
  }

  // scrollToBox brings the box a third of the way into its pane. From
  // where both are on screen: the box's SVG units are PDF points, not
  // pixels, and the sheet's offsetTop is measured from whichever ancestor
  // is positioned, not from the pane.
  scrollToBox(file, g) {
    const s = file.scroller;
    const box = g.getBoundingClientRect();
    const pane = s.getBoundingClientRect();
    const top = s.scrollTop + box.top - pane.top - s.clientHeight / 3;
    const left = s.scrollLeft + box.left - pane.left - s.clientWidth / 3;
    this.syncing = true;
    s.scrollTo({ top: Math.max(0, top), left: Math.max(0, left) });
    requestAnimationFrame(() => (this.syncing = false));
  }

  // syncScroll keeps side-by-side panes scrolled together.
  syncScroll(source) {
    if (this.syncing || this.mode !== 'both') return;
    this.syncing = true;
    for (const file of this.visibleFiles()) {
      if (file !== source) {
        file.scroller.scrollTop = source.scroller.scrollTop;
        file.scroller.scrollLeft = source.scroller.scrollLeft;
      }
    }
    requestAnimationFrame(() => (this.syncing = false));
  }

  rowOf(name) {
    return [...document.querySelectorAll('[data-testid=filled-value]')].find((tr) => tr.dataset.field === name);
  }

  // linkTable gives each values-table row of a marked field a button that
  // shows its box.
  linkTable() {
    for (const tr of document.querySelectorAll('[data-testid=filled-value]')) {
      const f = this.byName.get(tr.dataset.field);
      if (!f?.places.length || tr.querySelector('[data-docview-locate]')) continue;
      const b = el('button', { type: 'button', class: 'link ml-2 text-xs underline', 'data-docview-locate': '', 'data-testid': 'docview-locate' }, 'Show on page');
      b.addEventListener('click', () => this.select(f.name, 'row'));
      tr.cells[0].append(b);
    }
  }

  onKey(e) {
    if (e.target.matches('select, input, textarea')) return;
    const keys = { PageDown: 1, PageUp: -1, ArrowRight: 1, ArrowLeft: -1 };
    if (e.key in keys && !e.altKey && !e.ctrlKey && !e.metaKey) {
      if (e.key.startsWith('Arrow') && !e.target.matches('.docview-scroller, [role=toolbar] *')) return;
      e.preventDefault();
      this.goTo(this.page + keys[e.key]);
    } else if (e.key === '+' || e.key === '=') {
      this.setZoom(this.scale * ZOOM_STEP);
    } else if (e.key === '-') {
      this.setZoom(this.scale / ZOOM_STEP);
    }
  }
}
