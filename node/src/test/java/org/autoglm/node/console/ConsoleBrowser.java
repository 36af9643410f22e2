package org.autoglm.node.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's headless Chromium driven through its chromedriver (both paths given, so Selenium Manager never looks for or
 * downloads a driver), with the few page actions and checks the console tests use.
 */
final class ConsoleBrowser implements AutoCloseable {

    static final String CHROMIUM = "/usr/bin/chromium";
    static final String CHROMEDRIVER = "/usr/bin/chromedriver";

    private final ChromeDriver driver;
    private final Path out;

    private ConsoleBrowser(ChromeDriver driver, Path out) {
        this.driver = driver;
        this.out = out;
    }

    static ConsoleBrowser open(Path screenshots) {
        assertThat(new File(CHROMEDRIVER)).as("Chromium and its driver: apt-get install -y chromium chromium-driver"
                + " (.ci/run does)").exists();
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER);
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        // Frames are not held to the display's 60 Hz, so requestAnimationFrame deltas measure the page's own work.
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--lang=en-US", "--disable-gpu-vsync", "--disable-frame-rate-limit", "--disable-extensions");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER)).usingAnyFreePort().build();
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
        return new ConsoleBrowser(driver, screenshots);
    }

    ChromeDriver driver() {
        return driver;
    }

    void get(String url) {
        driver.get(url);
    }

    WebElement one(String css) {
        return driver.findElement(By.cssSelector(css));
    }

    List<WebElement> all(String css) {
        return driver.findElements(By.cssSelector(css));
    }

    void signIn(String token) {
        await(Duration.ofSeconds(10), () -> one("#token").isDisplayed());
        one("#token").sendKeys(token);
        one("#login-form button[type=submit]").click();
        await(Duration.ofSeconds(10), () -> !all("#tabs button").isEmpty());
    }

    void tab(String view) {
        one("#tabs button[data-view='" + view + "']").click();
        await(Duration.ofSeconds(5), () -> one("#view-" + view).isDisplayed());
    }

    void select(String css, String value) {
        new Select(one(css)).selectByValue(value);
    }

    /** Polls {@code condition} (exceptions count as false) until it holds, or fails with a screenshot. */
    void await(Duration timeout, Callable<Boolean> condition) {
        try {
            new WebDriverWait(driver, timeout, Duration.ofMillis(100)).until(d -> {
                try {
                    return condition.call();
                } catch (Exception e) {
                    return false;
                }
            });
        } catch (RuntimeException e) {
            screenshot("failure.png");
            throw e;
        }
    }

    void screenshot(String name) {
        try {
            Files.write(out.resolve(name), driver.getScreenshotAs(OutputType.BYTES));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Accessibility basics of the view shown: every visible control has an accessible name, Tab reaches every one of
     * them, and text has at least 4.5:1 contrast against its background (WCAG AA).
     */
    void checkAccessibility(String view) {
        List<WebElement> controls = new ArrayList<>();
        for (WebElement e : all("button, input, select, textarea, a[href], canvas[role=img]")) {
            if (e.isDisplayed()) controls.add(e);
        }
        for (WebElement e : controls) {
            assertThat(e.getAccessibleName()).as(view + ": accessible name of " + describe(e)).isNotBlank();
        }
        driver.executeScript("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);"
                + "document.body.focus();");
        List<Object> reached = new ArrayList<>();
        for (int i = 0; i < 3 * controls.size() + 10; i++) {
            new Actions(driver).sendKeys(Keys.TAB).perform();
            reached.add(driver.switchTo().activeElement());
        }
        for (WebElement e : controls) {
            if (e.getTagName().equals("canvas")) continue; // an image, not a control
            assertThat(reached).as(view + ": Tab reaches " + describe(e)).contains(e);
        }
        @SuppressWarnings("unchecked")
        List<String> lowContrast = (List<String>) driver.executeScript(CONTRAST);
        assertThat(lowContrast).as(view + ": text below 4.5:1 contrast").isEmpty();
    }

    private static String describe(WebElement e) {
        return e.getTagName() + (e.getAttribute("id") == null || e.getAttribute("id").isEmpty() ? ""
                : "#" + e.getAttribute("id")) + " '" + e.getText() + "'";
    }

    /** Text elements whose colour against the nearest opaque background is below 4.5:1. */
    private static final String CONTRAST = String.join("\n",
            "const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);",
            "const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92",
            "  : Math.pow((v + 0.055) / 1.055, 2.4); }).reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);",
            "const bg = (el) => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);",
            "  if (c.length === 3 || c[3] > 0) return c; } return [255, 255, 255]; };",
            "const bad = [];",
            "for (const el of document.querySelectorAll('body *')) {",
            "  if (!el.offsetParent || ![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;",
            "  const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));",
            "  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);",
            "  if (ratio < 4.5) bad.push(el.tagName + ' ' + el.textContent.trim().slice(0, 30) + ' ' + ratio.toFixed(2));",
            "}",
            "return bad;");

    /**
     * Frames over {@code span}: requestAnimationFrame deltas (paced at the display's 60 Hz, so 16.7 ms is on time and a
     * dropped frame shows as 33 ms or more), and the work of each frame in which the page rendered (its DOM updates
     * plus the style and layout they cause, recorded by the page's store).
     */
    FrameTimes frameTimes(Duration span) {
        @SuppressWarnings("unchecked")
        Map<String, List<Number>> measured = (Map<String, List<Number>>) driver.executeAsyncScript(String.join("\n",
                "const done = arguments[arguments.length - 1];",
                "import('/console/js/store.js').then(({ frameWork }) => {",
                "  frameWork.length = 0;",
                "  const deltas = []; let last = null; const end = performance.now() + " + span.toMillis() + ";",
                "  function frame(now) { if (last !== null) deltas.push(now - last); last = now;",
                "    if (now < end) requestAnimationFrame(frame); else done({ deltas, work: frameWork.slice() }); }",
                "  requestAnimationFrame(frame);",
                "});"));
        return new FrameTimes(Percentiles.of(measured.get("deltas")), Percentiles.of(measured.get("work")));
    }

    record Percentiles(int count, double p50, double p95, double p99, double max) {
        static Percentiles of(List<Number> values) {
            double[] d = values.stream().mapToDouble(Number::doubleValue).sorted().toArray();
            return new Percentiles(d.length, at(d, 0.5), at(d, 0.95), at(d, 0.99), d.length == 0 ? 0 : d[d.length - 1]);
        }

        private static double at(double[] sorted, double q) {
            return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
        }

        @Override
        public String toString() {
            return String.format("%d, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms", count, p50, p95, p99, max);
        }
    }

    record FrameTimes(Percentiles deltas, Percentiles work) {
        int count() {
            return deltas.count();
        }

        @Override
        public String toString() {
            return "render work per frame: " + work + "; requestAnimationFrame deltas: " + deltas;
        }
    }

    @Override
    public void close() {
        driver.quit();
    }
}
