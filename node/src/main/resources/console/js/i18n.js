// English and Chinese strings. The language comes from ?lang=, else the browser's language; t() falls back to English.
const STRINGS = {
  en: {
    'title': 'Open-AutoGLM console', 'skip': 'Skip to content', 'language': 'Language', 'signout': 'Sign out',
    'login.heading': 'Sign in with a token', 'login.token': "JWT (kept in this tab's session storage only)",
    'login.submit': 'Sign in', 'login.bad': 'This node refused the token: {msg}',
    'login.malformed': 'That is not a JWT (three base64url parts separated by dots).',
    'who': '{sub} ({roles})', 'conn.live': 'live', 'conn.reconnecting': 'reconnecting…', 'conn.offline': 'offline', 'conn.denied': 'token refused',
    'view.cluster': 'Cluster', 'view.charts': 'Throughput and latency', 'view.requests': 'Requests',
    'view.jobs': 'Batches and workflow runs', 'view.commands': 'Commands', 'view.audit': 'Audit',
    'views': 'Views',
    'cluster.leader': 'Leader', 'cluster.term': 'Term', 'cluster.nodes': 'Nodes', 'cluster.tps': 'Tokens/s',
    'cluster.queue': 'Queue depth', 'cluster.noleader': 'none (election under way)',
    'cluster.nodecount': '{n} ({healthy} healthy)', 'cluster.ungrouped': 'No group', 'cluster.group': 'Group {g}',
    'queue.interactive': 'interactive', 'queue.batch': 'batch',
    'node.leader': 'leader', 'node.draining': 'draining', 'node.anomalous': 'anomalous',
    'node.running': 'running', 'node.waiting': 'waiting', 'node.kv': 'KV cache', 'node.tps': 'tokens/s',
    'node.drain': 'Drain', 'node.undrain': 'Undrain', 'node.spark': 'tokens/s over the last two minutes',
    'charts.tps': 'Cluster tokens/s', 'charts.ttft': 'Time to first token (ms): p50, p95, p99',
    'charts.itl': 'Inter-token latency (ms): p50, p95, p99', 'charts.queue': 'Queue depth by class',
    'req.id': 'Request', 'req.state': 'State', 'req.user': 'User', 'req.priority': 'Priority', 'req.class': 'Class',
    'req.node': 'Node', 'req.age': 'Age', 'req.actions': 'Actions', 'req.cancel': 'Cancel',
    'req.cancel.label': 'Cancel request {id}', 'req.summary': '{shown} of {total} unfinished requests',
    'req.cancel.sending': 'Signing and sending a cancel of {id}…',
    'req.cancel.sent': 'Cancel of {id} sent as command {command}; each node\'s ack is in the Commands view.',
    'req.cancel.failed': 'The cancel of {id} was not sent: {msg}',
    'jobs.batches': 'Batches', 'jobs.id': 'Batch', 'jobs.status': 'Status', 'jobs.progress': 'Progress',
    'jobs.workflows': 'Workflow runs', 'jobs.cancel.label': 'Cancel batch {id}', 'jobs.none': 'No batches.',
    'jobs.workflows.pending': 'This node does not list workflow runs (GET /v1/workflow-runs): it runs an older version.',
    'wf.id': 'Run', 'wf.workflow': 'Workflow', 'wf.progress': 'Steps ended', 'wf.owner': 'Owner', 'wf.dag': 'DAG',
    'wf.show': 'Show', 'wf.show.label': 'Show the DAG of run {id}', 'wf.progress.label': 'Steps ended in run {id}',
    'wf.run': 'Run {id} ({workflow} v{version}): {status}', 'wf.dag.label': 'DAG of {total} steps: {states}',
    'wf.items': '{done}/{total} items', 'wf.attempt': 'attempt {n}',
    'cmd.key': 'Signing key', 'cmd.keyid': 'Key id', 'cmd.pem': 'Private key (PEM)', 'cmd.import': 'Import key',
    'cmd.key.hint': 'The Ed25519 private key (PKCS#8 PEM, as ctl keygen writes it) stays in this page: commands are signed here and the key is never sent.',
    'cmd.key.ready': 'Key {id} imported; commands are signed in this page.', 'cmd.key.none': 'No key imported.',
    'cmd.key.bad': 'The key could not be imported: {msg}',
    'cmd.nocrypto': 'This browser offers no Ed25519 signing here (WebCrypto needs HTTPS or localhost).',
    'cmd.send': 'Send a command', 'cmd.op': 'Operation', 'cmd.targetkind': 'Target', 'cmd.group': 'group',
    'cmd.node': 'node', 'cmd.target': 'Group or node name', 'cmd.submit': 'Sign and send',
    'cmd.list': 'Recent commands', 'cmd.needkey': 'Import a signing key first (Commands view).',
    'cmd.summary': '{op} → {target} by {by}', 'op.drain': 'drain', 'op.undrain': 'undrain',
    'audit.verify': 'Check the chain', 'audit.refresh': 'Refresh', 'audit.time': 'Time', 'audit.node': 'Node',
    'audit.actor': 'Actor', 'audit.action': 'Action', 'audit.detail': 'Detail',
    'audit.intact': 'Chain intact: {n} entries.', 'audit.broken': 'Chain broken at entry {seq}: {reason}',
    'role.none': 'Your token ({roles}) may not watch the cluster: it can see its own batches only.',
    'error': 'Error: {msg}',
  },
  zh: {
    'title': 'Open-AutoGLM 控制台', 'skip': '跳到内容', 'language': '语言', 'signout': '退出',
    'login.heading': '用令牌登录', 'login.token': 'JWT（仅保存在本标签页的会话存储中）', 'login.submit': '登录',
    'login.bad': '节点拒绝了该令牌：{msg}', 'login.malformed': '这不是 JWT（应为以点分隔的三段 base64url）。',
    'who': '{sub}（{roles}）', 'conn.live': '实时', 'conn.reconnecting': '重新连接中…', 'conn.offline': '离线', 'conn.denied': '令牌被拒绝',
    'view.cluster': '集群', 'view.charts': '吞吐与延迟', 'view.requests': '请求', 'view.jobs': '批处理与工作流',
    'view.commands': '命令', 'view.audit': '审计', 'views': '视图',
    'cluster.leader': '主节点', 'cluster.term': '任期', 'cluster.nodes': '节点', 'cluster.tps': '每秒词元',
    'cluster.queue': '队列深度', 'cluster.noleader': '无（正在选举）', 'cluster.nodecount': '{n}（{healthy} 个健康）',
    'cluster.ungrouped': '未分组', 'cluster.group': '分组 {g}', 'queue.interactive': '交互', 'queue.batch': '批处理',
    'node.leader': '主节点', 'node.draining': '排空中', 'node.anomalous': '异常', 'node.running': '运行',
    'node.waiting': '等待', 'node.kv': 'KV 缓存', 'node.tps': '词元/秒', 'node.drain': '排空', 'node.undrain': '恢复',
    'node.spark': '最近两分钟的每秒词元',
    'charts.tps': '集群每秒词元', 'charts.ttft': '首词元延迟（毫秒）：p50、p95、p99',
    'charts.itl': '词元间延迟（毫秒）：p50、p95、p99', 'charts.queue': '各类别队列深度',
    'req.id': '请求', 'req.state': '状态', 'req.user': '用户', 'req.priority': '优先级', 'req.class': '类别',
    'req.node': '节点', 'req.age': '时长', 'req.actions': '操作', 'req.cancel': '取消', 'req.cancel.label': '取消请求 {id}',
    'req.cancel.sending': '正在签名并发送对 {id} 的取消…', 'req.cancel.sent': '对 {id} 的取消已作为命令 {command} 发送；各节点的确认见“命令”视图。',
    'req.cancel.failed': '对 {id} 的取消未能发送：{msg}',
    'req.summary': '未完成请求 {total} 个，显示 {shown} 个',
    'jobs.batches': '批处理', 'jobs.id': '批处理', 'jobs.status': '状态', 'jobs.progress': '进度',
    'jobs.workflows': '工作流运行', 'jobs.cancel.label': '取消批处理 {id}', 'jobs.none': '没有批处理。',
    'jobs.workflows.pending': '本节点不提供工作流运行列表（GET /v1/workflow-runs）：其版本较旧。',
    'wf.id': '运行', 'wf.workflow': '工作流', 'wf.progress': '已结束步骤', 'wf.owner': '所有者', 'wf.dag': 'DAG',
    'wf.show': '查看', 'wf.show.label': '查看运行 {id} 的 DAG', 'wf.progress.label': '运行 {id} 已结束的步骤',
    'wf.run': '运行 {id}（{workflow} v{version}）：{status}', 'wf.dag.label': '共 {total} 个步骤的 DAG：{states}',
    'wf.items': '{done}/{total} 项', 'wf.attempt': '第 {n} 次尝试',
    'cmd.key': '签名密钥', 'cmd.keyid': '密钥 ID', 'cmd.pem': '私钥（PEM）', 'cmd.import': '导入密钥',
    'cmd.key.hint': 'Ed25519 私钥（ctl keygen 生成的 PKCS#8 PEM）只留在本页面：命令在此签名，密钥从不发送。',
    'cmd.key.ready': '已导入密钥 {id}；命令在本页面内签名。', 'cmd.key.none': '尚未导入密钥。',
    'cmd.key.bad': '无法导入密钥：{msg}', 'cmd.nocrypto': '此浏览器在此处不提供 Ed25519 签名（WebCrypto 需要 HTTPS 或 localhost）。',
    'cmd.send': '发送命令', 'cmd.op': '操作', 'cmd.targetkind': '目标', 'cmd.group': '分组', 'cmd.node': '节点',
    'cmd.target': '分组或节点名', 'cmd.submit': '签名并发送', 'cmd.list': '最近的命令',
    'cmd.needkey': '请先导入签名密钥（命令视图）。', 'cmd.summary': '{op} → {target}，由 {by} 发出',
    'op.drain': '排空', 'op.undrain': '恢复',
    'audit.verify': '校验链', 'audit.refresh': '刷新', 'audit.time': '时间', 'audit.node': '节点', 'audit.actor': '操作者',
    'audit.action': '动作', 'audit.detail': '详情', 'audit.intact': '链完整：{n} 条。', 'audit.broken': '链在第 {seq} 条断开：{reason}',
    'role.none': '你的令牌（{roles}）无权查看集群，只能查看自己的批处理。',
    'error': '错误：{msg}',
  },
};

let lang = pickLanguage();

function pickLanguage() {
  const asked = new URLSearchParams(location.search).get('lang');
  if (asked && STRINGS[asked]) return asked;
  return (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export function language() { return lang; }

export function setLanguage(next) {
  if (STRINGS[next]) lang = next;
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  translate(document);
}

/** The string for key in the current language, with {name} placeholders filled from vars. */
export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

/** Fills every element marked data-i18n under root. */
export function translate(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
}
