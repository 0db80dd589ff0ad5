package io.dubhub.spend;

import io.dubhub.config.HubConfig;
import io.dubhub.job.Job;
import io.dubhub.job.JobRejectedException;
import io.dubhub.job.JobSpec;
import io.dubhub.job.Stage;
import io.dubhub.ledger.BudgetLedger;
import io.dubhub.ledger.BudgetLedger.Budget;
import io.dubhub.ledger.JobLedger;
import io.dubhub.media.MediaInfo;
import io.dubhub.pipeline.JobData;
import io.dubhub.provider.ProviderAdapter;
import io.dubhub.provider.ProviderException;
import io.dubhub.provider.ProviderRegistry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.apache.camel.CamelContext;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.RouteDefinition;
import org.jboss.logging.Logger;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Daily credit budgets per provider (hub.budget.providers.&lt;id&gt;.daily-credits) and per watch
 * route (its {@code dailyCredits} template parameter). Runs in the submit route before the
 * provider's first billable call: the job's estimated credits are reserved in the ledger for
 * today, atomically across replicas, or the job waits until the next budget day (or fails, with
 * hub.budget.when-exceeded=fail), its reason carrying the arithmetic.
 */
@ApplicationScoped
@Named("spendGuard")
public class SpendGuard {

    private static final Logger LOG = Logger.getLogger(SpendGuard.class);

    /** The watch-folder / watch-bucket template parameter with a route's own daily cap. */
    public static final String ROUTE_PARAMETER = "dailyCredits";

    @Inject
    HubConfig config;

    @Inject
    BudgetLedger budgets;

    @Inject
    JobLedger ledger;

    @Inject
    JobData jobData;

    @Inject
    ProviderRegistry providers;

    @Inject
    CamelContext camel;

    @Inject
    MeterRegistry registry;

    private final Map<String, Budget> gauged = new ConcurrentHashMap<>();

    void onStart(@Observes StartupEvent ev) {
        for (String id : List.of("dublab", "speechlab", "perso", "alugha", "vugola")) {
            config.budget().providers().dailyCredits(id).ifPresent(cap -> gauge(new Budget(providerScope(id), cap)));
        }
    }

    /** Reserves the job's estimated credits in every budget that applies, or stops it here (WAIT or failure). */
    public void reserve(Job job) {
        List<Budget> applying = budgetsFor(job);
        if (applying.isEmpty()) {
            return;
        }
        ProviderAdapter provider = providers.get(job.provider());
        JobSpec spec = jobData.spec(job);
        MediaInfo media = jobData.media(job);
        OptionalDouble estimate = provider.estimateCredits(job, spec, media);
        if (estimate.isEmpty()) {
            throw new JobRejectedException(Stage.SUBMIT, "a daily credit budget applies (" + describe(applying, job)
                    + ") but dubhub cannot estimate what a job costs at " + job.provider() + " before submitting it, so it cannot keep"
                    + " the budget; remove that budget for " + job.provider() + " or send the file to another provider");
        }
        double need = estimate.getAsDouble();
        for (Budget b : applying) {
            gauge(b);
            if (need > b.dailyCap() + 1e-9) {
                throw new JobRejectedException(Stage.SUBMIT, label(b) + " budget: this job needs " + fmt(need) + " credits, more than the whole"
                        + " daily budget of " + fmt(b.dailyCap()) + " (" + setting(b, job) + "), so it can never fit; raise the budget or"
                        + " split the video, then drop it again");
            }
        }
        boolean already = applying.stream().allMatch(b -> budgets.reservation(b.scope(), job.id()).isPresent());
        ZoneId zone = zone();
        LocalDate today = LocalDate.now(zone);
        BudgetLedger.Decision decision = budgets.reserve(job.id(), today.toString(), need, applying);
        if (decision.granted()) {
            if (!already) {
                ledger.event(job.id(), Stage.SUBMIT, "budget: reserved " + fmt(need) + " credits for " + today + " ("
                        + applying.stream().map(b -> label(b) + " now " + fmt(budgets.used(b.scope(), today.toString())) + " of "
                        + fmt(b.dailyCap())).reduce((a, c) -> a + ", " + c).orElse("") + ")");
            }
            return;
        }
        Budget refused = decision.refusedBy();
        Instant nextDay = today.plusDays(1).atStartOfDay(zone).toInstant();
        String arithmetic = label(refused) + " budget: today " + fmt(decision.used()) + " of " + fmt(refused.dailyCap())
                + " credits used/reserved, this job needs " + fmt(need);
        Counter.builder("dubhub.budget.refusals").description("Times a job did not fit a daily credit budget")
                .tag("budget", refused.scope()).register(registry).increment();
        if ("fail".equalsIgnoreCase(config.budget().whenExceeded().trim())) {
            throw new JobRejectedException(Stage.SUBMIT, arithmetic + "; not submitted (HUB_BUDGET_WHEN_EXCEEDED=fail). Drop the file"
                    + " again when the budget allows it");
        }
        String until = today.plusDays(1).atStartOfDay(zone).toOffsetDateTime().toString();
        LOG.debugf("Job %s: %s", job.id(), arithmetic);
        throw ProviderException.waitUntil(job.provider(), Stage.SUBMIT, 0, nextDay, arithmetic + "; waiting until " + until);
    }

    /** The budgets that apply to this job: its provider's and its watch route's, where set. */
    List<Budget> budgetsFor(Job job) {
        List<Budget> out = new ArrayList<>();
        config.budget().providers().dailyCredits(job.provider()).ifPresent(cap -> out.add(new Budget(providerScope(job.provider()), cap)));
        routeCap(job).ifPresent(cap -> out.add(new Budget(routeScope(job.routeId()), cap)));
        return out;
    }

    /** The route's dailyCredits template parameter, read at submit time like Notifier reads notifyUrl. */
    Optional<Double> routeCap(Job job) {
        if (job.routeId() == null || !(camel instanceof ModelCamelContext model)) {
            return Optional.empty();
        }
        RouteDefinition route = model.getRouteDefinition(job.routeId());
        Object value = route == null || route.getTemplateParameters() == null ? null : route.getTemplateParameters().get(ROUTE_PARAMETER);
        if (value == null || value.toString().isBlank()) {
            return Optional.empty();
        }
        try {
            double cap = Double.parseDouble(value.toString().trim());
            if (cap < 0 || Double.isNaN(cap) || Double.isInfinite(cap)) {
                throw new NumberFormatException();
            }
            return Optional.of(cap);
        } catch (NumberFormatException e) {
            throw new JobRejectedException(Stage.SUBMIT, "route " + job.routeId() + " has dailyCredits '" + value
                    + "', which is not a number of credits (e.g. 40); fix the route file, then drop the file again");
        }
    }

    /** A job ended: what its provider reported it charged goes to dubhub_credits_used_total{provider}. */
    public void settled(Job job) {
        if (job.credits() != null && job.credits() > 0) {
            Counter.builder("dubhub.credits.used").description("Credits providers reported charging for jobs that ended in this process")
                    .tag("provider", job.provider()).register(registry).increment(job.credits());
        }
    }

    /**
     * Gauges per budget: its daily cap and what is used/reserved today (read from the ledger, so
     * fleet-wide). Micrometer holds gauge state weakly: the map here keeps it (and the latest cap).
     */
    private void gauge(Budget b) {
        boolean fresh = gauged.put(b.scope(), b) == null;
        if (!fresh) {
            return;
        }
        Gauge.builder("dubhub.budget.daily.credits", gauged, m -> m.get(b.scope()).dailyCap()).description("Daily credit budget")
                .tag("budget", b.scope()).register(registry);
        Gauge.builder("dubhub.budget.used.credits", gauged, m -> safeUsed(b.scope()))
                .description("Credits used or reserved today in this budget (all replicas)").tag("budget", b.scope()).register(registry);
    }

    private double safeUsed(String scope) {
        try {
            return budgets.used(scope, LocalDate.now(zone()).toString());
        } catch (RuntimeException e) {
            return Double.NaN;
        }
    }

    ZoneId zone() {
        return ZoneId.of(config.budget().timezone().trim());
    }

    static String providerScope(String provider) {
        return "provider:" + provider;
    }

    static String routeScope(String routeId) {
        return "route:" + routeId;
    }

    private static String label(Budget b) {
        return b.scope().startsWith("provider:") ? b.scope().substring("provider:".length()) : "route " + b.scope().substring("route:".length());
    }

    private static String setting(Budget b, Job job) {
        return b.scope().startsWith("provider:")
                ? "HUB_BUDGET_PROVIDERS_" + job.provider().toUpperCase(Locale.ROOT) + "_DAILY_CREDITS"
                : "dailyCredits of route " + job.routeId();
    }

    private static String describe(List<Budget> budgets, Job job) {
        return budgets.stream().map(b -> setting(b, job) + " = " + fmt(b.dailyCap())).reduce((a, c) -> a + ", " + c).orElse("");
    }

    static String fmt(double credits) {
        return credits == Math.rint(credits) ? String.valueOf((long) credits) : String.format(Locale.ROOT, "%.2f", credits);
    }
}
