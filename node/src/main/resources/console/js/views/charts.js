// Throughput and latency view: uPlot charts of the last two minutes of snapshots (cluster tokens/s; TTFT and
// inter-token p50/p95/p99; queue depth by class). Built when first shown, redrawn only while visible.
import uPlot from '../../vendor/uPlot.esm.js';
import { t } from '../i18n.js';
import { state } from '../store.js';

const COLOURS = ['#0b57d0', '#8a4b00', '#b3261e'];

function options(series, width) {
  return {
    width, height: 180,
    scales: { x: { time: true } },
    series: [{}, ...series.map((label, i) => ({ label, stroke: COLOURS[i], width: 1.5, spanGaps: true }))],
    axes: [{}, { size: 60 }],
  };
}

export function chartsView() {
  let charts = null;

  function build() {
    const width = Math.max(320, document.getElementById('view-charts').clientWidth - 16);
    const make = (id, labels) => new uPlot(options(labels, width), [[], ...labels.map(() => [])], document.getElementById(id));
    charts = {
      tps: make('chart-tps', [t('cluster.tps')]),
      ttft: make('chart-ttft', ['p50', 'p95', 'p99']),
      itl: make('chart-itl', ['p50', 'p95', 'p99']),
      queue: make('chart-queue', [t('queue.interactive'), t('queue.batch')]),
    };
  }

  return {
    render() {
      if (!charts) build();
      const h = state.history;
      charts.tps.setData([h.time, h.tps]);
      charts.ttft.setData([h.time, ...h.ttft]);
      charts.itl.setData([h.time, ...h.itl]);
      charts.queue.setData([h.time, h.interactive, h.batch]);
    },
  };
}
