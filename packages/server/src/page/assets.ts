/**
 * The status page's stylesheet and script, served from /ui/ (same origin,
 * so the Content-Security-Policy allows no inline code at all).
 */
export const PAGE_CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{display:flex;gap:1.5rem;align-items:center;padding:.6rem 2rem;background:#20232a;color:#eee}
header a{color:#eee;text-decoration:none}header a.here{font-weight:600;text-decoration:underline}
header .who{margin-left:auto;display:flex;gap:.8rem;align-items:center}
header form{margin:0}header button{font:inherit;cursor:pointer}
main{padding:1rem 2rem 3rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1.6rem;background:#fff}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #e3e3e3;vertical-align:top}
th{font-weight:600;background:#f2f2f2}
tr.ok td.status{color:#176f2c}tr.failed td.status,tr.missing td.status{color:#b00020}
tr.pending td.status{color:#8a5a00}tr.removed,tr.idle{opacity:.65}tr.unreadable td.intended{color:#b00020}
.error{color:#b00020}.note{color:#555}small{color:#666}
.badge{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:12px;background:#fde7c2;color:#6b4500}
pre.log{background:#111;color:#ddd;padding:.6rem;max-height:28rem;overflow:auto;font-size:12px;white-space:pre-wrap}
form.login{max-width:28rem;margin:4rem auto;background:#fff;padding:1.5rem 2rem;border:1px solid #ddd}
form.login input[type=password]{width:100%;font:inherit;padding:.4rem;margin:.4rem 0 1rem;box-sizing:border-box}
form.login button{font:inherit;padding:.4rem 1.2rem}
code{font-size:13px}
table.summary th{width:10rem}
`;

export const PAGE_JS = `(function () {
  'use strict';
  var body = document.body;
  function swap(fragments) {
    Object.keys(fragments).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { el.outerHTML = fragments[id]; return; }
      var holder = document.getElementById('clusters');
      if (holder && id.indexOf('cluster-') === 0) holder.insertAdjacentHTML('beforeend', fragments[id]);
    });
    body.setAttribute('data-updated', String(Date.now()));
  }
  var src = body.getAttribute('data-events');
  if (src && window.EventSource) {
    var es = new EventSource(src);
    es.addEventListener('fragments', function (e) { swap(JSON.parse(e.data)); });
    es.addEventListener('signed-out', function () { es.close(); window.location.reload(); });
    es.addEventListener('open', function () { body.setAttribute('data-live', 'yes'); });
    es.onerror = function () {
      body.setAttribute('data-live', 'no');
      if (es.readyState === 2) setTimeout(function () { window.location.reload(); }, 2000);
    };
  }
  Array.prototype.forEach.call(document.querySelectorAll('pre[data-log]'), function (pre) {
    if (!window.EventSource) return;
    var ls = new EventSource(pre.getAttribute('data-log'));
    var lines = 0;
    ls.addEventListener('line', function (e) {
      var near = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 20;
      if (pre.getAttribute('data-empty') === 'yes') { pre.textContent = ''; pre.removeAttribute('data-empty'); }
      pre.appendChild(document.createTextNode(e.data + '\\n'));
      if (++lines > 2000) pre.removeChild(pre.firstChild);
      if (near) pre.scrollTop = pre.scrollHeight;
    });
    ls.addEventListener('failure', function (e) {
      if (pre.getAttribute('data-empty') === 'yes') pre.textContent = '(none)';
      var p = document.createElement('p');
      p.className = 'error';
      p.textContent = e.data;
      pre.parentNode.insertBefore(p, pre.nextSibling);
      ls.close();
    });
    ls.addEventListener('end', function () { ls.close(); });
  });
})();
`;
