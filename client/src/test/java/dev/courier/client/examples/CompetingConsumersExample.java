package dev.courier.client.examples;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.courier.client.FailurePolicy;
import dev.courier.client.WorkerPool;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Competing consumers: three workers share one queue; each job goes to exactly one of them. */
public final class CompetingConsumersExample {
    public static Map<String, Integer> run(ConnectionFactory factory) throws Exception {
        try (Connection connection = factory.newConnection()) {
            Channel channel = connection.createChannel();
            channel.queueDeclare("jobs", true, false, false, null);

            Map<String, Integer> jobsPerWorker = new ConcurrentHashMap<>();
            CountDownLatch done = new CountDownLatch(12);
            WorkerPool pool = WorkerPool.builder(connection, "jobs", delivery -> {
                        jobsPerWorker.merge(Thread.currentThread().getName(), 1, Integer::sum);
                        done.countDown(); // returning acks the job; throwing would requeue it
                    })
                    .workers(3)
                    .prefetch(1) // a busy worker gets no more until it acks
                    .onFailure(FailurePolicy.REQUEUE)
                    .start();

            for (int i = 0; i < 12; i++) {
                channel.basicPublish("", "jobs", null, ("job " + i).getBytes(StandardCharsets.UTF_8));
            }
            done.await(10, TimeUnit.SECONDS);
            pool.close(); // drains: finishes what the workers hold, returns nothing half-done
            return jobsPerWorker; // 12 jobs spread over courier-worker-jobs-0, -1 and -2
        }
    }

    public static void main(String[] args) throws Exception {
        System.out.println(run(new ConnectionFactory()));
    }
}
