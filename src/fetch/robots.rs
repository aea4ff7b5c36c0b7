//! Fetch stage: robots.txt — fetched once per origin, cached for the run (failures
//! too) and matched against our user agent; it does not fetch pages.

use reqwest::header::HeaderMap;
use texting_robots::Robot;
use tracing::{debug, warn};
use url::Url;

use super::hosts::Host;
use super::retry::Deadline;
use super::{FetchError, Inner};

/// What an origin's robots.txt lets us do.
pub(super) enum RobotsRules {
    /// No usable robots.txt (missing, unreachable or unreadable): everything is allowed.
    AllowAll,
    /// The groups of robots.txt that apply to our agent.
    Rules(Robot),
}

impl RobotsRules {
    /// Parses robots.txt for `agent`; a file that cannot be parsed allows everything.
    fn parse(agent: &str, body: &[u8], robots_url: &Url) -> RobotsRules {
        match Robot::new(agent, body) {
            Ok(robot) => RobotsRules::Rules(robot),
            Err(error) => {
                warn!(url = %robots_url, %error, "unreadable robots.txt; fetching as if it allowed everything");
                RobotsRules::AllowAll
            }
        }
    }

    fn allows(&self, url: &Url) -> bool {
        match self {
            RobotsRules::AllowAll => true,
            RobotsRules::Rules(robot) => robot.allowed(url.as_str()),
        }
    }
}

/// The robots.txt product token of a user agent: its first word, before any `/`
/// (`octofeed/0.1 (+https://…)` → `octofeed`).
pub(super) fn agent_token(user_agent: &str) -> &str {
    let word = user_agent.split_whitespace().next().unwrap_or_default();
    word.split('/').next().unwrap_or_default()
}

impl Inner {
    /// Whether the origin's robots.txt lets us fetch `url`; the first caller for an
    /// origin fetches robots.txt while later ones wait for its answer.
    pub(super) async fn robots_allow(&self, url: &Url, host: &Host, deadline: &Deadline) -> bool {
        let rules = host.robots.get_or_init(|| self.load_robots(url, host, deadline)).await;
        rules.allows(url)
    }

    /// Fetches robots.txt with at most half the time left, so the page keeps the rest.
    async fn load_robots(&self, url: &Url, host: &Host, deadline: &Deadline) -> RobotsRules {
        let robots_url = url.join("/robots.txt").unwrap_or_else(|_| url.clone());
        host.wait_turn().await;
        let budget = Deadline::after(deadline.remaining() / 2);
        let fetched = tokio::time::timeout_at(budget.at(), self.get_robots(&robots_url, &budget));
        match fetched.await.unwrap_or_else(|_| Err(budget.expired(&robots_url))) {
            Ok(body) => RobotsRules::parse(&self.robots_agent, &body, &robots_url),
            Err(FetchError::Status { code, .. }) if code < 500 => {
                debug!(url = %robots_url, code, "no robots.txt; everything is allowed");
                RobotsRules::AllowAll
            }
            Err(error) => {
                warn!(%error, "robots.txt unavailable; fetching as if it allowed everything");
                RobotsRules::AllowAll
            }
        }
    }

    async fn get_robots(&self, robots_url: &Url, budget: &Deadline) -> Result<Vec<u8>, FetchError> {
        let response = self.send(robots_url, HeaderMap::new(), budget).await?;
        let status = response.status();
        debug!(url = %robots_url, status = status.as_u16(), "robots.txt");
        if !status.is_success() {
            let code = status.as_u16();
            let url = response.url().clone();
            return Err(FetchError::Status { url, code });
        }
        self.read_body(response, budget).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(path: &str) -> Url {
        Url::parse("https://example.org/").unwrap().join(path).unwrap()
    }

    fn rules(txt: &str) -> RobotsRules {
        RobotsRules::parse("octofeed", txt.as_bytes(), &url("/robots.txt"))
    }

    #[test]
    fn agent_token_is_the_product_name() {
        assert_eq!(agent_token("octofeed/0.1.0 (+https://github.com/octofeed/octofeed)"), "octofeed");
        assert_eq!(agent_token("octofeed (+https://example.org/contact)"), "octofeed");
        assert_eq!(agent_token("MyBot"), "MyBot");
        assert_eq!(agent_token(""), "");
    }

    #[test]
    fn star_group_applies_to_us() {
        let rules = rules("User-agent: *\nDisallow: /private\n");
        assert!(!rules.allows(&url("/private/page")));
        assert!(rules.allows(&url("/news")));
    }

    #[test]
    fn our_own_group_wins_over_star() {
        let rules = rules("User-agent: *\nAllow: /\n\nUser-agent: octofeed\nDisallow: /\n");
        assert!(!rules.allows(&url("/news")));
    }

    #[test]
    fn other_agents_groups_do_not_apply() {
        let rules = rules("User-agent: otherbot\nDisallow: /\n");
        assert!(rules.allows(&url("/news")));
    }

    #[test]
    fn allow_all_allows_everything() {
        assert!(RobotsRules::AllowAll.allows(&url("/anything")));
    }
}
