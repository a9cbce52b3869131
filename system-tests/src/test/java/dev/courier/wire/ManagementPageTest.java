package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.UnhandledAlertException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.WindowType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The management web page at {@code /} in a real headless Chromium driven by Selenium: log in
 * through the form, watch a queue that the test made through amqp-client fill up, open its detail
 * with the live chart, redrive a dead-letter queue with the page's "Move messages" button, purge,
 * close a connection, and show a queue name that looks like markup as plain text. Skipped when
 * chromium and chromedriver are not installed ({@code .ci/run} installs Debian's {@code chromium}
 * and {@code chromium-driver}); {@code -Dcourier.screenshots=DIR} saves screenshots of the page.
 */
class ManagementPageTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    /** The page refreshes every 2 s; a few refreshes is plenty. */
    private static final Duration PAGE_TIMEOUT = Duration.ofSeconds(15);

    /** One browser for the class; each test works in a tab of its own, so it starts logged out. */
    private static WebDriver browser;

    private static String firstTab;
    private WebDriverWait page;
    private String base;

    @BeforeAll
    static void startBrowser() {
        if (broker.isCourier() && HeadlessChromium.isInstalled()) {
            browser = HeadlessChromium.start();
            firstTab = browser.getWindowHandle();
        }
    }

    @AfterAll
    static void stopBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    @BeforeEach
    void openTab() {
        Assumptions.assumeTrue(broker.isCourier(), "the web page is served by Courier");
        Assumptions.assumeTrue(browser != null, HeadlessChromium.MISSING);
        // sessionStorage (where the page keeps its login) belongs to one tab
        browser.switchTo().newWindow(WindowType.TAB);
        page = new WebDriverWait(browser, PAGE_TIMEOUT);
        base = "http://127.0.0.1:" + broker.server().httpPort();
    }

    @AfterEach
    void closeTab() {
        if (browser == null) {
            return;
        }
        for (String tab : browser.getWindowHandles()) {
            if (!tab.equals(firstTab)) {
                browser.switchTo().window(tab);
                try {
                    browser.close();
                } catch (UnhandledAlertException e) {
                    browser.close(); // the failed test left a confirm() open; the first call dismissed it
                }
            }
        }
        browser.switchTo().window(firstTab);
    }

    @Test
    void shouldAskForTheLoginAgainAfterAWrongPasswordThenShowTheOverview() throws Exception {
        browser.get(base + "/");
        logIn("guest", "wrong");
        page.until(ExpectedConditions.textToBe(By.id("login-error"), "Wrong user name or password."));
        assertThat(browser.findElement(By.id("nav")).isDisplayed()).isFalse();
        HeadlessChromium.screenshot(browser, "login");

        Channel channel = broker.connect().createChannel();
        channel.queueDeclare(CourierBroker.unique("page-overview"), false, false, false, null);
        logIn("guest", "guest");
        page.until(ExpectedConditions.visibilityOfElementLocated(By.id("view-overview")));
        page.until(ExpectedConditions.textToBe(By.id("session-user"), "guest"));
        page.until(ExpectedConditions.textMatches(By.id("node-name"), Pattern.compile("^courier@.+")));
        page.until(ExpectedConditions.textMatches(By.id("total-queues"), Pattern.compile("^[1-9][0-9]*$")));
        page.until(ExpectedConditions.textMatches(By.id("total-connections"), Pattern.compile("^[1-9][0-9]*$")));
        page.until(ExpectedConditions.textMatches(By.id("rate-publish"), Pattern.compile("^[0-9.,]+/s$")));
        page.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#nodes-body tr[data-node]")));
        HeadlessChromium.screenshot(browser, "overview");

        browser.findElement(By.id("logout-button")).click();
        page.until(ExpectedConditions.visibilityOfElementLocated(By.id("login-form")));
        assertThat(browser.findElement(By.id("view-overview")).isDisplayed()).isFalse();
    }

    @Test
    void shouldShowAQueuesDepthChangeAfterPublishesAndItsChart() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = CourierBroker.unique("page-orders");
        channel.queueDeclare(queue, true, false, false, null);

        openLoggedIn("#/queues");
        page.until(ExpectedConditions.textToBe(cell(queue, "messages_ready"), "0"));

        publish(channel, queue, 5);
        page.until(ExpectedConditions.textToBe(cell(queue, "messages_ready"), "5"));
        page.until(ExpectedConditions.textToBe(cell(queue, "messages"), "5"));

        // two unacked: a consumer that never acks, with prefetch 2
        Channel consumer = broker.connect().createChannel();
        consumer.basicQos(2);
        consumer.basicConsume(queue, false, "page-consumer", (tag, delivery) -> {}, tag -> {});
        page.until(ExpectedConditions.textToBe(cell(queue, "messages_ready"), "3"));
        page.until(ExpectedConditions.textToBe(cell(queue, "messages_unacknowledged"), "2"));
        page.until(ExpectedConditions.textToBe(cell(queue, "consumers"), "1"));
        HeadlessChromium.screenshot(browser, "queues");

        browser.findElement(By.cssSelector(row(queue) + " a.queue-link")).click();
        page.until(ExpectedConditions.textToBe(By.id("queue-name"), queue));
        page.until(ExpectedConditions.textToBe(By.id("queue-ready"), "3"));
        page.until(ExpectedConditions.textToBe(By.id("queue-unacked"), "2"));
        page.until(ExpectedConditions.textToBe(
                By.cssSelector("#consumers-body tr[data-consumer='page-consumer'] td"), "page-consumer"));

        // the chart is drawn from /history: a line per series, whose latest point is in the legend
        page.until(d -> polylinePoints(d, "depth-chart", "messages_ready") >= 2);
        page.until(ExpectedConditions.textToBe(legend("depth-chart", "messages_ready"), "3"));
        page.until(ExpectedConditions.textToBe(legend("depth-chart", "messages_unacknowledged"), "2"));
        assertThat(polylinePoints(browser, "rate-chart", "publish_rate")).isGreaterThanOrEqualTo(2);
        assertThat(browser.findElements(By.cssSelector("#rate-chart svg polyline")))
                .hasSize(3);
        HeadlessChromium.screenshot(browser, "queue-detail");
    }

    @Test
    void shouldShowAQueueNameThatLooksLikeMarkupAsTextAndPurgeItFromItsDetail() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = CourierBroker.unique("page <b>bold</b> & \"quoted\" #1/2 <img src=x onerror=alert(1)>");
        channel.queueDeclare(queue, false, false, false, null);
        publish(channel, queue, 1);

        openLoggedIn("#/queues");
        By link = By.xpath("//tbody[@id='queues-body']//a[@class='queue-link'][contains(., 'bold')]");
        WebElement name = page.until(ExpectedConditions.visibilityOfElementLocated(link));
        assertThat(name.getText()).isEqualTo(queue);
        assertThat(browser.findElements(By.cssSelector("#queues-body b, #queues-body img")))
                .isEmpty();

        name.click();
        page.until(ExpectedConditions.textToBe(By.id("queue-name"), queue));
        page.until(ExpectedConditions.textToBe(By.id("queue-ready"), "1"));
        assertThat(browser.findElements(By.cssSelector("main b, main img"))).isEmpty();

        browser.findElement(By.id("purge-button")).click();
        page.until(ExpectedConditions.alertIsPresent()).accept();
        page.until(ExpectedConditions.textToBe(By.id("purge-result"), "Purged."));
        page.until(ExpectedConditions.textToBe(By.id("queue-ready"), "0"));
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isZero();
    }

    @Test
    void shouldMoveDeadLetteredMessagesBackToTheirQueue() throws Exception {
        Channel channel = broker.connect().createChannel();
        String source = CourierBroker.unique("page-work");
        String dlq = source + ".dlq";
        channel.queueDeclare(dlq, true, false, false, null);
        channel.queueDeclare(
                source, true, false, false, Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", dlq));
        publish(channel, source, 3);
        for (int i = 0; i < 3; i++) {
            GetResponse response = channel.basicGet(source, false);
            channel.basicReject(response.getEnvelope().getDeliveryTag(), false);
        }
        await().until(() -> channel.queueDeclarePassive(dlq).getMessageCount() == 3);

        openLoggedIn("#/queues");
        page.until(ExpectedConditions.textToBe(cell(dlq, "messages_ready"), "3"));
        assertThat(browser.findElement(By.cssSelector(row(source) + " .features"))
                        .getText())
                .contains("DLX");
        browser.findElement(By.cssSelector(row(dlq) + " a.queue-link")).click();
        page.until(ExpectedConditions.textToBe(By.id("queue-ready"), "3"));
        page.until(ExpectedConditions.presenceOfElementLocated(
                By.cssSelector("#move-queues option[value='" + source + "']")));

        WebElement destination = browser.findElement(By.id("move-destination"));
        destination.sendKeys(source);
        browser.findElement(By.id("move-button")).click();
        page.until(ExpectedConditions.textToBe(By.id("move-result"), "Moved 3 messages to “" + source + "”."));
        page.until(ExpectedConditions.textToBe(By.id("queue-ready"), "0"));
        HeadlessChromium.screenshot(browser, "redrive");

        assertThat(channel.queueDeclarePassive(dlq).getMessageCount()).isZero();
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            GetResponse response = channel.basicGet(source, true);
            assertThat(response).as("message %d back in %s", i, source).isNotNull();
            assertThat(response.getProps().getHeaders()).containsKey("x-death");
            bodies.add(text(response.getBody()));
        }
        assertThat(bodies).containsExactly("message 0", "message 1", "message 2");
    }

    @Test
    void shouldCloseAConnectionFromTheConnectionsList() throws Exception {
        Connection connection = broker.factory().newConnection("page-victim");
        broker.track(connection);

        openLoggedIn("#/connections");
        By victim = By.xpath("//tbody[@id='connections-body']/tr[td[2][contains(., 'page-victim')]]");
        page.until(ExpectedConditions.visibilityOfElementLocated(victim));
        HeadlessChromium.screenshot(browser, "connections");
        browser.findElement(victim)
                .findElement(By.cssSelector("button.close-connection"))
                .click();
        page.until(ExpectedConditions.alertIsPresent()).accept();

        await().until(() -> !connection.isOpen());
        page.until(ExpectedConditions.invisibilityOfElementLocated(victim));
    }

    // ---------------------------------------------------------------- helpers

    private void openLoggedIn(String fragment) {
        browser.get(base + "/" + fragment);
        logIn("guest", "guest");
        page.until(ExpectedConditions.visibilityOfElementLocated(By.id("nav")));
    }

    private void logIn(String user, String password) {
        WebElement userField = page.until(ExpectedConditions.visibilityOfElementLocated(By.id("login-user")));
        userField.clear();
        userField.sendKeys(user);
        WebElement passwordField = browser.findElement(By.id("login-password"));
        passwordField.clear();
        passwordField.sendKeys(password);
        browser.findElement(By.id("login-button")).click();
    }

    private static void publish(Channel channel, String queue, int count) throws Exception {
        channel.confirmSelect();
        for (int i = 0; i < count; i++) {
            channel.basicPublish("", queue, null, bytes("message " + i));
        }
        channel.waitForConfirmsOrDie(5_000);
    }

    private static String row(String queue) {
        return "#queues-body tr[data-queue='" + queue + "']";
    }

    private static By cell(String queue, String field) {
        return By.cssSelector(row(queue) + " td[data-field='" + field + "']");
    }

    private static By legend(String chart, String series) {
        return By.cssSelector("#" + chart + " .legend li[data-series='" + series + "'] strong");
    }

    /** How many points the chart's line for {@code series} has (0 when there is no line yet). */
    private static int polylinePoints(WebDriver browser, String chart, String series) {
        List<WebElement> lines =
                browser.findElements(By.cssSelector("#" + chart + " svg polyline[data-series='" + series + "']"));
        if (lines.isEmpty()) {
            return 0;
        }
        String points = lines.get(0).getDomAttribute("points");
        return points == null || points.isBlank() ? 0 : points.trim().split("\\s+").length;
    }

    /** Chromium and its driver, where Debian installs them, overridable by system properties. */
    static final class HeadlessChromium {
        private static final Path CHROMIUM = Path.of(System.getProperty("courier.chromium", "/usr/bin/chromium"));
        private static final Path CHROMEDRIVER =
                Path.of(System.getProperty("courier.chromedriver", "/usr/bin/chromedriver"));

        /** With {@code -Dcourier.screenshots=DIR} the test saves PNGs of the page there. */
        private static final String SCREENSHOTS = System.getProperty("courier.screenshots");

        /**
         * Quiets Selenium's warning that it has no CDP bindings for this Chromium version (Debian's
         * is often newer than Selenium's): the test uses WebDriver only. Held here because
         * java.util.logging keeps loggers weakly.
         */
        private static final Logger CDP_LOG = quiet("org.openqa.selenium.devtools.CdpVersionFinder");

        private static Logger quiet(String name) {
            Logger logger = Logger.getLogger(name);
            logger.setLevel(Level.SEVERE);
            return logger;
        }

        static final String MISSING = "no headless browser: " + CHROMIUM + " or " + CHROMEDRIVER + " is missing"
                + " (apt-get install chromium chromium-driver); skipping the web page test";

        static boolean isInstalled() {
            return Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        }

        static WebDriver start() {
            ChromeOptions options = new ChromeOptions();
            options.setBinary(CHROMIUM.toFile());
            options.addArguments(
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1100");
            ChromeDriverService service = new ChromeDriverService.Builder()
                    .usingDriverExecutable(CHROMEDRIVER.toFile())
                    .usingAnyFreePort()
                    .build();
            return new ChromeDriver(service, options);
        }

        static void screenshot(WebDriver browser, String name) throws IOException {
            if (SCREENSHOTS == null || SCREENSHOTS.isBlank()) {
                return;
            }
            Path directory = Files.createDirectories(Path.of(SCREENSHOTS));
            byte[] png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
            Files.write(directory.resolve(name + ".png"), png);
        }
    }
}
