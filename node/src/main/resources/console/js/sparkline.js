// A tokens/s sparkline on a canvas: one path, scaled to its own maximum, redrawn only when its samples change.

export function drawSparkline(canvas, values) {
  const width = canvas.clientWidth || 200;
  const height = canvas.clientHeight || 28;
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  if (values.length < 2) return;
  let max = 1;
  for (const v of values) if (v > max) max = v;
  ctx.beginPath();
  const step = width / (values.length - 1);
  values.forEach((v, i) => {
    const y = height - 2 - (v / max) * (height - 4);
    if (i === 0) ctx.moveTo(0, y); else ctx.lineTo(i * step, y);
  });
  ctx.strokeStyle = '#0b57d0';
  ctx.lineWidth = 1.5;
  ctx.stroke();
}
