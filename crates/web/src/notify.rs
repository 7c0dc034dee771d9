//! Forwarding notifications to the webhooks (an SMS / WeChat gateway): a loop started by
//! [`crate::serve`] that claims undelivered notifications and POSTs them as JSON. Each delivery is
//! claimed in the database before it is sent, so two fangpin processes never send one twice; a
//! gateway that cannot be reached is recorded (status -1) and not retried, so nobody gets the same
//! SMS twice — the notification stays in the app either way.

use std::time::Duration;

use axum::body::Body;
use domain::ports::NotificationStore;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::AppState;

/// Sends what is waiting; returns how many deliveries were attempted.
pub async fn dispatch_once(state: &AppState) -> usize {
    let deliveries = match state.db.claim_deliveries(state.clock.now(), 100).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "webhook: could not read the notifications");
            return 0;
        }
    };
    let client = Client::builder(TokioExecutor::new()).build_http::<Body>();
    for d in &deliveries {
        let body = serde_json::to_vec(&d.message).unwrap_or_default();
        let req = axum::http::Request::post(d.url.as_str())
            .header(axum::http::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(Body::from(body));
        let (status, error) = match req {
            Err(e) => (-1, format!("地址无效：{e}")),
            Ok(req) => match tokio::time::timeout(Duration::from_secs(10), client.request(req)).await {
                Ok(Ok(resp)) => (i32::from(resp.status().as_u16()), String::new()),
                Ok(Err(e)) => (-1, format!("无法连接网关：{e}")),
                Err(_) => (-1, "网关10秒内没有应答".to_string()),
            },
        };
        if status != 200 && status != 204 {
            // the URL may carry a gateway key: log the webhook's number, not its address
            tracing::warn!(webhook = d.webhook_id, status, "webhook delivery failed");
        }
        if let Err(e) = state.db.finish_delivery(d.webhook_id, d.message.id, status, &error).await {
            tracing::warn!(error = %e, "webhook: could not record a delivery");
        }
    }
    deliveries.len()
}

/// Runs [`dispatch_once`] every few seconds for as long as the server runs.
pub fn spawn(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            dispatch_once(&state).await;
        }
    })
}
