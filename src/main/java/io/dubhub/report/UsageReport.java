package io.dubhub.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dubhub.config.HubConfig;
import io.dubhub.ledger.JobLedger;
import io.dubhub.provider.vugola.VugolaProvider;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The usage report, run by the Quartz cron of routes/pipeline/reports.camel.yaml: jobs by
 * provider and state and credits used by provider (both from the ledger, so the whole fleet),
 * plus Vugola's own account figures (GET /usage) when Vugola is enabled. Written to
 * {@code <data-dir>/reports/<date>.json} (date in hub.reports.timezone; a later run the same day
 * replaces it) and published as gauges: dubhub_report_credits_used{provider} and
 * dubhub_vugola_credits{figure}. Jobs by provider and state are the dubhub_jobs gauges.
 */
@ApplicationScoped
@Named("usageReport")
public class UsageReport {

    private static final Logger LOG = Logger.getLogger(UsageReport.class);

    @Inject
    HubConfig config;

    @Inject
    JobLedger ledger;

    @Inject
    VugolaProvider vugola;

    @Inject
    ObjectMapper json;

    @Inject
    MeterRegistry registry;

    private final Map<String, Double> creditsUsed = new ConcurrentHashMap<>();
    private final Map<String, Double> vugolaFigures = new ConcurrentHashMap<>();
    private final AtomicReference<Path> last = new AtomicReference<>();

    public Path write() {
        ZoneId zone = ZoneId.of(config.reports().timezone());
        Instant now = Instant.now();
        LocalDate date = LocalDate.ofInstant(now, zone);
        ObjectNode report = json.createObjectNode();
        report.put("date", date.toString());
        report.put("timezone", zone.getId());
        report.put("generatedAt", now.toString());
        ObjectNode jobs = report.putObject("jobs");
        ledger.countsByProviderAndState().forEach((provider, states) -> {
            ObjectNode p = jobs.putObject(provider);
            states.forEach((state, count) -> p.put(state.toLowerCase(Locale.ROOT), count));
        });
        ObjectNode credits = report.putObject("creditsUsed");
        Map<String, Double> used = ledger.creditsByProvider();
        used.forEach(credits::put);
        used.forEach(this::publishCredits);
        if (vugola.enabled()) {
            try {
                JsonNode usage = vugola.usage();
                ObjectNode v = report.putObject("vugola");
                for (String field : new String[]{"plan", "credits_remaining", "credits_total", "credits_used_this_month"}) {
                    if (usage.has(field)) {
                        v.set(field, usage.get(field));
                        if (usage.get(field).isNumber()) {
                            publishVugola(field, usage.get(field).asDouble());
                        }
                    }
                }
            } catch (RuntimeException e) {
                report.putObject("vugola").put("error", "GET /usage failed: " + e.getMessage());
                LOG.warnf("Usage report: Vugola GET /usage failed: %s", e.getMessage());
            }
        }
        Path dir = Path.of(config.dataDir()).resolve("reports");
        Path file = dir.resolve(date + ".json");
        try {
            Files.createDirectories(dir);
            Path tmp = dir.resolve("." + date + ".json.tmp");
            Files.writeString(tmp, json.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report), StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the usage report " + file + ": " + e.getMessage(), e);
        }
        last.set(file);
        LOG.infof("Usage report written to %s", file);
        return file;
    }

    /** The file the last run wrote (null before the first run of this process). */
    public Path lastReport() {
        return last.get();
    }

    private void publishCredits(String provider, double value) {
        if (creditsUsed.put(provider, value) == null) {
            Gauge.builder("dubhub.report.credits.used", creditsUsed, m -> m.getOrDefault(provider, 0.0))
                    .description("Credits used by provider, from the ledger, as of the last usage report")
                    .tag("provider", provider)
                    .register(registry);
        }
    }

    private void publishVugola(String figure, double value) {
        if (vugolaFigures.put(figure, value) == null) {
            Gauge.builder("dubhub.vugola.credits", vugolaFigures, m -> m.getOrDefault(figure, Double.NaN))
                    .description("Vugola account figures (GET /usage) as of the last usage report")
                    .tag("figure", figure)
                    .register(registry);
        }
    }
}
