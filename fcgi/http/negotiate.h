/* negotiate.h - which media type a request's body is in, and which one its
 * answer should be in.
 *
 * req_prefers_html() (the answer: Accept) is declared in request.h, since
 * handlers use it too; this is the body's side (Content-Type). */
#ifndef ORDERD_NEGOTIATE_H
#define ORDERD_NEGOTIATE_H

enum media {
	MEDIA_OTHER = 0,	/* neither: a body in it is 415 */
	MEDIA_JSON,		/* application/json */
	MEDIA_FORM		/* application/x-www-form-urlencoded */
};

/* The media type content_type names (NULL: none, MEDIA_OTHER); parameters
 * such as charset are ignored. */
enum media	 req_body_media(const char *content_type);

#endif
