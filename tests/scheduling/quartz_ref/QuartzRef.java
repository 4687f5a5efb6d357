import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.TimeZone;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.quartz.CronExpression;

/**
 * Reference oracle for tests/scheduling/test_cron_reference.py.
 *
 * Reads lines "expression TAB timezoneId TAB startEpochMillis TAB count" on stdin and writes,
 * for each, exactly one line: "OK" followed by up to `count` TAB-separated epoch millis (the
 * chained results of CronExpression.getNextValidTimeAfter, stopping early on null), or
 * "ERR TAB message" when the expression does not parse or evaluation throws. One JVM run
 * serves thousands of cases, which keeps the differential test fast.
 *
 * Quartz 2.3.2 loops forever on some expressions it accepts (e.g. "0 0 0 L-30W * ?" once it
 * reaches February), so each case runs on a worker thread with a time limit (system property
 * quartzref.timeoutMillis, default 5000) and answers "ERR TAB Timeout" when it is exceeded.
 */
public final class QuartzRef {
    private QuartzRef() {
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
        long timeoutMillis = Long.getLong("quartzref.timeoutMillis", 5000L);
        ExecutorService worker = newWorker();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) {
                continue;
            }
            final String request = line;
            Future<String> result = worker.submit(() -> answer(request));
            String reply;
            try {
                reply = result.get(timeoutMillis, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                reply = "ERR\tTimeout";
                // A spinning getTimeAfter cannot be interrupted: drop the thread (a daemon) and
                // carry on with a fresh one.
                worker.shutdownNow();
                worker = newWorker();
            }
            out.write(reply);
            out.write('\n');
        }
        out.flush();
        worker.shutdownNow();
        System.exit(0);
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "quartz-ref-worker");
            t.setDaemon(true);
            return t;
        });
    }

    private static String answer(String line) {
        String[] parts = line.split("\t", -1);
        if (parts.length != 4) {
            return "ERR\tbad request line";
        }
        TimeZone zone = TimeZone.getTimeZone(parts[1]);
        // TimeZone.getTimeZone silently falls back to GMT for unknown ids: refuse that instead.
        if (!zone.getID().equals(parts[1])) {
            return "ERR\tunknown time zone " + parts[1];
        }
        StringBuilder sb = new StringBuilder("OK");
        try {
            CronExpression cron = new CronExpression(parts[0]);
            cron.setTimeZone(zone);
            Date t = new Date(Long.parseLong(parts[2]));
            int count = Integer.parseInt(parts[3]);
            for (int i = 0; i < count; i++) {
                t = cron.getNextValidTimeAfter(t);
                if (t == null) {
                    break;
                }
                sb.append('\t').append(t.getTime());
            }
        } catch (Exception | Error e) {
            String msg = String.valueOf(e.getMessage()).replace('\t', ' ').replace('\n', ' ');
            return "ERR\t" + e.getClass().getSimpleName() + ": " + msg;
        }
        return sb.toString();
    }
}
