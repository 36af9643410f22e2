// A tokens/s sparkline on a canvas: one path, scaled to its own maximum. The bitmap has a fixed size (twice the CSS
// size, for sharp lines) and CSS stretches it to the card, so drawing never reads layout: a hundred cards redrawn in
// one frame cause no forced layouts.

export const WIDTH = 440;
export const HEIGHT = 56;

export function drawSparkline(canvas, values) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, WIDTH, HEIGHT);
  if (values.length < 2) return;
  let max = 1;
  for (const v of values) if (v > max) max = v;
  ctx.beginPath();
  const step = WIDTH / (values.length - 1);
  values.forEach((v, i) => {
    const y = HEIGHT - 3 - (v / max) * (HEIGHT - 6);
    if (i === 0) ctx.moveTo(0, y); else ctx.lineTo(i * step, y);
  });
  ctx.strokeStyle = '#0b57d0';
  ctx.lineWidth = 3;
  ctx.stroke();
}
