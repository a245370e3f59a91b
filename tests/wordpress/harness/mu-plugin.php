<?php
/*
 * Plugin Name: brandkit test harness
 * Description: The test site sends no mail (there is no MTA; WordPress would spawn sendmail).
 */
add_filter('pre_wp_mail', '__return_false');
