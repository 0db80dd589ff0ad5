package io.dubhub.testing;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A real Azurite blob service (the Azure Storage emulator, npm package pinned in
 * src/test/azurite/package.json) running as its own node process, in memory. Installed with
 * {@code npm ci} by the first test that needs it when node_modules is missing. SAS tokens are
 * signed here for Azurite's well-known development account, per the Blob service SAS spec.
 */
public final class AzuriteProcess implements AutoCloseable {

    public static final String ACCOUNT = "devstoreaccount1";
    public static final String KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    public static final String VERSION = "2021-08-06";
    private static final Path DIR = Path.of("src", "test", "azurite");

    private final Process process;
    private final int port;
    private final Path log;

    private AzuriteProcess(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    public static AzuriteProcess start() {
        Path main = DIR.resolve("node_modules/azurite/dist/src/blob/main.js");
        if (!Files.isRegularFile(main)) {
            run(List.of("npm", "ci", "--no-audit", "--no-fund"), Duration.ofMinutes(8));
        }
        int port = freePort();
        Path logDir = Path.of("target", "emulators");
        try {
            Files.createDirectories(logDir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path log = logDir.resolve("azurite-" + port + ".log").toAbsolutePath();
        Process process;
        try {
            process = new ProcessBuilder("node", main.toAbsolutePath().toString(), "--blobHost", "127.0.0.1", "--blobPort", String.valueOf(port),
                    "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck")
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start Azurite (is node on the PATH?)", e);
        }
        AzuriteProcess a = new AzuriteProcess(process, port, log);
        try {
            await("Azurite on port " + port).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .failFast("Azurite exited", () -> !process.isAlive())
                    .until(() -> portAccepts(port));
        } catch (RuntimeException | AssertionError e) {
            a.close();
            throw new IllegalStateException("Azurite did not start; log " + log, e);
        }
        return a;
    }

    private static void run(List<String> command, Duration limit) {
        try {
            Process p = new ProcessBuilder(command).directory(DIR.toFile()).redirectErrorStream(true)
                    .redirectOutput(Path.of("target", "azurite-npm-ci.log").toFile()).start();
            if (!p.waitFor(limit.toSeconds(), TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " failed in " + DIR + "; see target/azurite-npm-ci.log");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port + "/" + ACCOUNT;
    }

    /** Creates a container with an account SAS (Create Container needs account-level rights). */
    public void createContainer(HttpClient http, String container) throws Exception {
        String se = Instant.now().plus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS).toString();
        String toSign = ACCOUNT + "\n" + "rwdlac" + "\n" + "b" + "\n" + "sco" + "\n" + "" + "\n" + se + "\n" + "" + "\n" + "" + "\n" + VERSION + "\n" + "" + "\n";
        String sas = "sv=" + VERSION + "&ss=b&srt=sco&sp=rwdlac&se=" + enc(se) + "&sig=" + enc(hmac(toSign));
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(endpoint() + "/" + container + "?restype=container&" + sas))
                .PUT(HttpRequest.BodyPublishers.noBody()).header("x-ms-version", VERSION).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201 && r.statusCode() != 409) {
            throw new IllegalStateException("create container answered " + r.statusCode() + ": " + r.body());
        }
    }

    /** A service SAS URL for one blob, valid until {@code expiry}, permissions {@code sp} (e.g. rcw). */
    public URI blobSas(String container, String blob, Instant expiry, String sp) {
        String se = expiry.truncatedTo(ChronoUnit.SECONDS).toString();
        String resource = "/blob/" + ACCOUNT + "/" + container + "/" + blob;
        String toSign = String.join("\n", sp, "", se, resource, "", "", "", VERSION, "b", "", "", "", "", "", "", "");
        return URI.create(endpoint() + "/" + container + "/" + blob + "?sv=" + VERSION + "&se=" + enc(se) + "&sr=b&sp=" + sp + "&sig=" + enc(hmac(toSign)));
    }

    static String hmac(String toSign) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(Base64.getDecoder().decode(KEY), "HmacSHA256"));
            return Base64.getEncoder().encodeToString(mac.doFinal(toSign.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean portAccepts(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public Path log() {
        return log;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
